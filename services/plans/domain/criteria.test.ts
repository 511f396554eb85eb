import type { AccessDecision } from './access.js';
import { chronologyCriteria, earlierVersionsCriteria, latestReadCriteria, renderCriteria, writeCriteria } from './criteria.js';

type Permit = AccessDecision & { permit: true };
const own: Permit = { permit: true, basis: 'author', crossesBoundary: false, criteria: [] };
const viaIsp: Permit = { permit: true, basis: 'isp', crossesBoundary: false, criteria: ['IM-L4'] };
const acrossBoundary: Permit = { permit: true, basis: 'isp', crossesBoundary: true, criteria: ['IM-L4', 'IM-L5'] };

describe('criteria of plans exchanges', () => {
  it('claims nothing for an agency reading its own plan, and AP-L3/AP-L4 with the ISP check when another agency downloads it', () => {
    expect(latestReadCriteria('CarePlan', own)).toEqual([]);
    expect(latestReadCriteria('CarePlan', viaIsp)).toEqual(['AP-L3', 'AP-L4', 'IM-L4']);
    expect(latestReadCriteria('CarePlan', acrossBoundary)).toEqual(['AP-L3', 'AP-L4', 'IM-L4', 'IM-L5', 'AP-L5']);
  });

  it('claims AP-L4 for earlier versions only when the Named Person / Lead Professional reads them', () => {
    expect(earlierVersionsCriteria(own, true)).toEqual(['AP-L4']);
    expect(earlierVersionsCriteria(own, false)).toEqual([]);
  });

  it('claims AP-L2 for every printable version, AP-L4 when another agency prints it', () => {
    expect(renderCriteria(own)).toEqual(['AP-L2']);
    expect(renderCriteria(viaIsp)).toEqual(['AP-L2', 'AP-L4', 'IM-L4']);
  });

  it('claims AP-L5 for a chronology only when it integrates more than one agency', () => {
    expect(chronologyCriteria(1, false, [own])).toEqual([]);
    expect(chronologyCriteria(2, true, [own, viaIsp])).toEqual(['AP-L4', 'AP-L5', 'IM-L4']);
  });

  it('claims AP-L3 for writing a plan and AP-L4 for managing a request electronically', () => {
    expect(writeCriteria('CarePlan')).toEqual(['AP-L3']);
    expect(writeCriteria('ServiceRequest')).toEqual(['AP-L4']);
  });
});
