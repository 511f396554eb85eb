import type { IspFlow } from '../../../shared/isp/contract.js';
import type { RouteTarget } from '../../../shared/isp/evaluator.js';
import { acceptanceCriteria, routeAlert } from './routing.js';

const term = (categories: IspFlow['categories']): IspFlow => ({ termIndex: 0, sender: 'social-work', receiver: 'emergency-department', categories, purposes: ['child-protection'], crossPartnership: false });
const target = (id: string, type: RouteTarget['agency']['type'], partnership = 'lothian-hscp', categories: IspFlow['categories'] = ['alert', 'np-lp-contact']): RouteTarget => ({
  agency: { id, type, partnership },
  isp: 'isp-lothian',
  term: term(categories),
  crossesBoundary: partnership !== 'lothian-hscp',
});
const targets = [target('rie-emergency', 'emergency-department'), target('nhs-lothian', 'nhs-board', 'lothian-hscp', ['alert']), target('vhk-emergency', 'emergency-department', 'fife-hscp')];

describe('routing an alert', () => {
  it('goes to every agency the ISP routes it to, with what each term lets it receive', () => {
    const routing = routeAlert(targets, 'edinburgh-social-work');
    expect(routing).toMatchObject({ ok: true });
    if (!routing.ok) return;
    expect(routing.recipients.map((r) => r.agencyId)).toEqual(['nhs-lothian', 'rie-emergency', 'vhk-emergency']);
    expect(routing.recipients.find((r) => r.agencyId === 'nhs-lothian')?.categories).toEqual(['alert']);
    expect(routing.recipients.find((r) => r.agencyId === 'vhk-emergency')?.crossesBoundary).toBe(true);
  });

  it('never sends an alert back to its sender', () => {
    const routing = routeAlert([...targets, target('edinburgh-social-work', 'social-work')], 'edinburgh-social-work');
    expect(routing.ok && routing.recipients.map((r) => r.agencyId)).not.toContain('edinburgh-social-work');
  });

  it('narrows to the destinations named', () => {
    const routing = routeAlert(targets, 'edinburgh-social-work', ['vhk-emergency']);
    expect(routing.ok && routing.recipients.map((r) => r.agencyId)).toEqual(['vhk-emergency']);
  });

  it('never widens: a destination the ISP does not route to refuses the message, naming it', () => {
    expect(routeAlert(targets, 'edinburgh-social-work', ['rie-emergency', 'police-scotland-e-division', 'edinburgh-social-work'])).toEqual({
      ok: false,
      notAllowed: ['police-scotland-e-division', 'edinburgh-social-work'],
    });
  });
});

describe('what an accepted alert shows', () => {
  const recipients = (ids: string[]) => {
    const routing = routeAlert(targets, 'edinburgh-social-work', ids);
    return routing.ok ? routing.recipients : [];
  };

  it('IM-L4 always; PD-L4 with NP/LP details', () => {
    expect(acceptanceCriteria(recipients(['nhs-lothian']), true)).toEqual(['IM-L4', 'PD-L4']);
    expect(acceptanceCriteria(recipients(['nhs-lothian']), false)).toEqual(['IM-L4']);
  });

  it('IM-L5 when a recipient is across the boundary', () => {
    expect(acceptanceCriteria(recipients(['rie-emergency']), true)).not.toContain('IM-L5');
    expect(acceptanceCriteria(recipients(['vhk-emergency']), true)).toContain('IM-L5');
  });

  it('no MA criterion: accepting is not delivering (each acknowledged delivery claims MA-L3/L4/L5)', () => {
    const criteria = acceptanceCriteria(recipients(['vhk-emergency', 'rie-emergency', 'nhs-lothian']), true);
    expect(criteria.filter((c) => c.startsWith('MA-'))).toEqual([]);
  });
});
