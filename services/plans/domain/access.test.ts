import type { CarePlan } from 'fhir/r4.js';
import type { IspFlowDecision } from '../../../shared/isp/registry.js';
import { accessRecordOf, accessTags, decideAccess, withAccessTags, type AccessRecord, type Caller } from './access.js';

const record: AccessRecord = { type: 'CarePlan', id: 'p1', authorAgency: 'edinburgh-social-work', personId: 'person-1', category: 'plan' };
const caller = (agency: string): Caller => ({ agency, partnership: 'lothian-hscp', purpose: 'care-planning' });
const allowed = (crossesBoundary = false) => ({ allowed: true, crossesBoundary }) as unknown as IspFlowDecision;
const refused = { allowed: false, reason: 'no-term', detail: 'no term lets police receive plan' } as unknown as IspFlowDecision;

describe('decideAccess', () => {
  it('lets the authoring agency see its own record without any flow', () => {
    const decision = decideAccess({ caller: caller('edinburgh-social-work'), record, action: 'read', isp: 'same-agency', consent: undefined });
    expect(decision).toMatchObject({ permit: true, basis: 'author', criteria: [] });
  });

  it("lets a request's assigned agency see it", () => {
    const request: AccessRecord = { ...record, type: 'ServiceRequest', category: 'service-request', performerAgency: 'children1st-edinburgh' };
    expect(decideAccess({ caller: caller('children1st-edinburgh'), record: request, action: 'write', isp: 'same-agency', consent: undefined })).toMatchObject({ permit: true, basis: 'performer' });
  });

  it('lets another agency see it where the ISP allows the flow, showing IM-L4 (and IM-L5 across a boundary)', () => {
    expect(decideAccess({ caller: caller('nhs-lothian'), record, action: 'read', isp: allowed(), consent: undefined })).toMatchObject({ permit: true, basis: 'isp', criteria: ['IM-L4'] });
    expect(decideAccess({ caller: caller('fife-social-work'), record, action: 'read', isp: allowed(true), consent: undefined })).toMatchObject({ permit: true, crossesBoundary: true, criteria: ['IM-L4', 'IM-L5'] });
  });

  it('refuses another agency the ISP does not allow, saying why, whatever consent says', () => {
    const decision = decideAccess({ caller: caller('police-scotland-e-division'), record, action: 'read', isp: refused, consent: { permit: true, reason: 'granted' } });
    expect(decision.permit).toBe(false);
    expect(decision).toMatchObject({ basis: 'isp', criteria: ['SI-L3', 'IM-L4'] });
    expect(decision.permit === false && decision.reason).toContain('no term lets police receive plan');
  });

  it("follows consent's verdict within the ISP", () => {
    const denied = decideAccess({ caller: caller('nhs-lothian'), record, action: 'read', isp: allowed(), consent: { permit: false, reason: 'consent revoked', consent: 'Consent/c1' } });
    expect(denied).toMatchObject({ permit: false, basis: 'consent', reason: 'consent revoked', consent: 'Consent/c1', criteria: ['SI-L3', 'PD-L5'] });
    const granted = decideAccess({ caller: caller('nhs-lothian'), record, action: 'read', isp: allowed(), consent: { permit: true, reason: 'granted', consent: 'Consent/c2' } });
    expect(granted).toMatchObject({ permit: true, basis: 'consent', consent: 'Consent/c2' });
  });
});

describe('the access record kept with a resource', () => {
  it('is read back from the tags the hub sets, replacing any a client sent in those systems', () => {
    const meta = withAccessTags({ tag: [{ system: 'https://fhir.infoshare.scot/CodeSystem/author-agency', code: 'forged' }, { system: 'urn:other', code: 'kept' }] }, 'edinburgh-social-work', 'person-1');
    expect(meta.tag).toEqual([{ system: 'urn:other', code: 'kept' }, ...accessTags('edinburgh-social-work', 'person-1')]);
    const plan: CarePlan = { resourceType: 'CarePlan', id: 'p1', status: 'active', intent: 'plan', subject: {}, meta };
    expect(accessRecordOf(plan)).toEqual(record);
  });

  it('is absent on a resource the hub never tagged', () => {
    expect(accessRecordOf({ resourceType: 'CarePlan', id: 'p1', status: 'active', intent: 'plan', subject: {} } as CarePlan)).toBeUndefined();
  });
});
