import { parseIspContract } from './contract.js';
import type { AgencyRecord } from './agencies.js';
import { decideFlow, type IspSnapshot } from './registry.js';
import { verifyIspSignatures } from './signatures.js';
import { PARTNER_IDS, TEST_AGENCIES as A, publicKeys, signedBy, testIspContract, testKeys } from './test-isp.js';

const keys = testKeys([...PARTNER_IDS]);

function snapshotOf(...agencies: { id: string; type: string; partnership: string }[]): IspSnapshot {
  const contract = signedBy(testIspContract(), keys);
  const records = agencies.map((a): AgencyRecord => ({ ...a, type: a.type as AgencyRecord['type'], active: true, patientIdentifierSystem: `urn:test:${a.id}` }));
  return {
    agencies: new Map(records.map((r) => [r.id, r])),
    isps: [{ isp: parseIspContract(contract), verification: verifyIspSignatures(contract, publicKeys(keys)) }],
    unreadable: [],
  };
}

const alertToEd = { senderAgencyId: A.socialWork.id, receiverAgencyId: A.ed.id, category: 'alert', purpose: 'child-protection' } as const;

describe('decideFlow under one snapshot', () => {
  const snapshot = snapshotOf(A.socialWork, A.ed);

  it('answers the same flow the same way while no ISP comes into force or passes review', () => {
    const first = decideFlow(snapshot, alertToEd, new Date('2026-06-01T12:00:00Z'));
    expect(first).toMatchObject({ allowed: true, isp: 'isp-test' });
    expect(decideFlow(snapshot, alertToEd, new Date('2026-09-01T12:00:00Z'))).toEqual(first);
  });

  it('refuses the flow it allowed once the ISP passes its review date, though the snapshot is the same', () => {
    expect(decideFlow(snapshot, alertToEd, new Date('2027-01-31T12:00:00Z')).allowed).toBe(true);
    expect(decideFlow(snapshot, alertToEd, new Date('2027-02-01T00:00:01Z'))).toMatchObject({ allowed: false, reason: 'review-date-passed' });
  });

  it('refuses before the ISP is in force, then allows, asked in either order', () => {
    expect(decideFlow(snapshot, alertToEd, new Date('2026-06-01T00:00:00Z')).allowed).toBe(true);
    expect(decideFlow(snapshot, alertToEd, new Date('2026-01-15T00:00:00Z'))).toMatchObject({ allowed: false, reason: 'not-yet-in-force' });
    expect(decideFlow(snapshot, alertToEd, new Date('2026-06-02T00:00:00Z')).allowed).toBe(true);
  });

  it('decides each flow for itself: another receiver, category or purpose is not answered from another flow', () => {
    const at = new Date('2026-06-01T12:00:00Z');
    expect(decideFlow(snapshot, alertToEd, at).allowed).toBe(true);
    expect(decideFlow(snapshot, { ...alertToEd, category: 'plan' }, at)).toMatchObject({ allowed: false, reason: 'flow-not-listed' });
    expect(decideFlow(snapshot, { ...alertToEd, purpose: 'child-wellbeing' }, at)).toMatchObject({ allowed: false, reason: 'flow-not-listed' });
    expect(decideFlow(snapshot, { ...alertToEd, receiverAgencyId: A.police.id }, at)).toMatchObject({ allowed: false, reason: 'unknown-agency' });
  });

  it('decides afresh under a new snapshot (a directory write): an agency added is known at once', () => {
    const at = new Date('2026-06-01T12:00:00Z');
    const toPolice = { ...alertToEd, receiverAgencyId: A.police.id };
    expect(decideFlow(snapshot, toPolice, at)).toMatchObject({ allowed: false, reason: 'unknown-agency' });
    expect(decideFlow(snapshotOf(A.socialWork, A.ed, A.police), toPolice, at)).toMatchObject({ allowed: false, reason: 'flow-not-listed' });
  });
});
