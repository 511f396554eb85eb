import type { Contract } from 'fhir/r4.js';
import { buildIspContract, parseIspContract } from './contract.js';
import { evaluateFlow, evaluateFlowUnderAny, routeTargets, routeTargetsUnderAny, unchangedInForceSpan, type FlowAgency, type FlowRequest } from './evaluator.js';
import { verifyIspSignatures } from './signatures.js';
import { PARTNER_IDS, TEST_AGENCIES as A, publicKeys, signedBy, testIspContract, testIspDraft, testKeys } from './test-isp.js';

const keys = testKeys([...PARTNER_IDS, 'other-ed']);
const NOW = new Date('2026-06-01T12:00:00Z');

function underIsp(contract: Contract) {
  return { isp: parseIspContract(contract), verification: verifyIspSignatures(contract, publicKeys(keys)) };
}

const signed = underIsp(signedBy(testIspContract(), keys));

function decide(flow: FlowRequest, now = NOW, isp = signed) {
  return evaluateFlow(isp.isp, isp.verification, flow, now);
}

const childProtectionAlert = (receiverAgency: FlowAgency): FlowRequest => ({
  senderAgency: A.socialWork,
  receiverAgency,
  category: 'alert',
  purpose: 'child-protection',
});

describe('evaluateFlow', () => {
  it('Allows a flow the signed ISP lists, naming the term that allows it', () => {
    const decision = decide(childProtectionAlert(A.ed));
    expect(decision).toMatchObject({ allowed: true, isp: 'isp-test', crossesBoundary: false, term: { termIndex: 0, sender: 'social-work', receiver: 'emergency-department' } });
  });

  it('Refuses a flow the ISP does not list', () => {
    const decision = decide({ senderAgency: A.ed, receiverAgency: A.police, category: 'alert', purpose: 'child-protection' });
    expect(decision).toMatchObject({ allowed: false, reason: 'flow-not-listed' });
    expect(!decision.allowed && decision.detail).toContain('emergency-department → police: alert for child-protection');
  });

  it('Refuses a listed sender → receiver pair for a category or purpose the term does not name', () => {
    expect(decide({ ...childProtectionAlert(A.ed), category: 'plan' })).toMatchObject({ allowed: false, reason: 'flow-not-listed' });
    expect(decide({ ...childProtectionAlert(A.ed), purpose: 'care-planning' })).toMatchObject({ allowed: false, reason: 'flow-not-listed' });
  });

  describe('CP-IS rule: child-protection flags go to unscheduled care only', () => {
    it('Allows social work → A&E and out-of-hours', () => {
      expect(decide(childProtectionAlert(A.ed)).allowed).toBe(true);
      expect(decide(childProtectionAlert(A.ooh)).allowed).toBe(true);
    });

    it('Refuses social work → police and education, though education gets child-wellbeing alerts', () => {
      expect(decide(childProtectionAlert(A.police))).toMatchObject({ allowed: false, reason: 'flow-not-listed' });
      expect(decide(childProtectionAlert(A.education))).toMatchObject({ allowed: false, reason: 'flow-not-listed' });
      expect(decide({ ...childProtectionAlert(A.education), purpose: 'child-wellbeing' }).allowed).toBe(true);
    });
  });

  it('Refuses every flow while a partner has not signed', () => {
    const unsigned = underIsp(signedBy(testIspContract(), keys, PARTNER_IDS.filter((a) => a !== 'test-edu')));
    const decision = decide(childProtectionAlert(A.ed), NOW, unsigned);
    expect(decision).toMatchObject({ allowed: false, reason: 'not-signed-by-all' });
    expect(!decision.allowed && decision.detail).toContain('test-edu (not-signed)');
  });

  it('Refuses every flow when the content changed after signing', () => {
    const contract = signedBy(testIspContract(), keys);
    const widened = { ...contract, term: [...contract.term!, ...buildIspContract({ ...testIspDraft(), flows: [{ sender: 'social-work', receiver: 'police', categories: ['alert'], purposes: ['child-protection'], crossPartnership: false }] }).term!] };
    const decision = decide(childProtectionAlert(A.police), NOW, underIsp(widened));
    expect(decision).toMatchObject({ allowed: false, reason: 'not-signed-by-all' });
    expect(!decision.allowed && decision.detail).toContain('stale-content');
  });

  it('Refuses a verification made for another ISP', () => {
    const other = underIsp(signedBy({ ...testIspContract(), id: 'isp-other' }, keys));
    expect(evaluateFlow(signed.isp, other.verification, childProtectionAlert(A.ed), NOW)).toMatchObject({ allowed: false, reason: 'not-signed-by-all' });
  });

  it('Allows flows through the whole review date and refuses them from the day after', () => {
    expect(decide(childProtectionAlert(A.ed), new Date('2027-01-31T23:59:59Z')).allowed).toBe(true);
    const decision = decide(childProtectionAlert(A.ed), new Date('2027-02-01T00:00:00Z'));
    expect(decision).toMatchObject({ allowed: false, reason: 'review-date-passed' });
    expect(!decision.allowed && decision.detail).toContain('2027-01-31');
  });

  it('Refuses flows before the ISP comes into force', () => {
    expect(decide(childProtectionAlert(A.ed), new Date('2026-01-31T12:00:00Z'))).toMatchObject({ allowed: false, reason: 'not-yet-in-force' });
  });

  it('Refuses a sender or receiver that is not a partner, even of a listed type', () => {
    expect(decide(childProtectionAlert(A.otherEd))).toMatchObject({ allowed: false, reason: 'not-a-partner' });
    const fromOutsider = decide({ senderAgency: { ...A.socialWork, id: 'rogue-sw' }, receiverAgency: A.ed, category: 'alert', purpose: 'child-protection' });
    expect(fromOutsider).toMatchObject({ allowed: false, reason: 'not-a-partner' });
    expect(!fromOutsider.allowed && fromOutsider.detail).toContain('rogue-sw is not a partner');
  });

  describe('across partnership boundaries', () => {
    const crossDraft = testIspDraft();
    const crossIsp = underIsp(
      signedBy(
        buildIspContract({
          ...crossDraft,
          id: 'isp-cross',
          partners: [{ agency: 'test-sw' }, { agency: 'other-ed' }],
          flows: [
            { sender: 'social-work', receiver: 'emergency-department', categories: ['alert'], purposes: ['child-protection'], crossPartnership: true },
            { sender: 'social-work', receiver: 'emergency-department', categories: ['plan'], purposes: ['care-planning'], crossPartnership: false },
          ],
        }),
        keys,
        ['test-sw', 'other-ed'],
      ),
    );

    it('Allows a flow to another partnership when the term is marked crossPartnership', () => {
      expect(decide(childProtectionAlert(A.otherEd), NOW, crossIsp)).toMatchObject({ allowed: true, crossesBoundary: true, isp: 'isp-cross' });
    });

    it('Refuses a cross-boundary flow whose term holds only within a partnership', () => {
      const decision = decide({ senderAgency: A.socialWork, receiverAgency: A.otherEd, category: 'plan', purpose: 'care-planning' }, NOW, crossIsp);
      expect(decision).toMatchObject({ allowed: false, reason: 'flow-not-listed' });
      expect(!decision.allowed && decision.detail).toContain('only within a partnership');
    });

    it('Decides under whichever ISP allows the flow, and explains a refusal from an ISP both agencies are in', () => {
      expect(evaluateFlowUnderAny([signed, crossIsp], childProtectionAlert(A.otherEd), NOW)).toMatchObject({ allowed: true, isp: 'isp-cross' });
      expect(evaluateFlowUnderAny([signed, crossIsp], childProtectionAlert(A.ed), NOW)).toMatchObject({ allowed: true, isp: 'isp-test' });
      expect(evaluateFlowUnderAny([crossIsp, signed], childProtectionAlert(A.police), NOW)).toMatchObject({ allowed: false, isp: 'isp-test', reason: 'flow-not-listed' });
      expect(evaluateFlowUnderAny([], childProtectionAlert(A.ed), NOW)).toBeUndefined();
    });

    it('Routes across every ISP, each receiver once', () => {
      const targets = routeTargetsUnderAny([signed, crossIsp], A.socialWork, 'alert', 'child-protection', Object.values(A), NOW);
      expect(targets.map((t) => [t.agency.id, t.isp, t.crossesBoundary])).toEqual([
        ['test-ed', 'isp-test', false],
        ['test-ooh', 'isp-test', false],
        ['other-ed', 'isp-cross', true],
      ]);
    });
  });
});

describe('routeTargets', () => {
  const everyone = Object.values(A);

  it('Routes a child-protection alert from social work to unscheduled care only', () => {
    const targets = routeTargets(signed.isp, signed.verification, A.socialWork, 'alert', 'child-protection', everyone, NOW);
    expect(targets.map((t) => t.agency.id)).toEqual(['test-ed', 'test-ooh']);
  });

  it('Routes a police concern to social work', () => {
    expect(routeTargets(signed.isp, signed.verification, A.police, 'alert', 'child-wellbeing', everyone, NOW).map((t) => t.agency.id)).toEqual(['test-sw']);
  });

  it('Routes nothing once the ISP is past its review date', () => {
    expect(routeTargets(signed.isp, signed.verification, A.socialWork, 'alert', 'child-protection', everyone, new Date('2027-03-01T00:00:00Z'))).toEqual([]);
  });
});

describe('unchangedInForceSpan', () => {
  it('Spans from the last in-force change before now to the next one after it, inside which every decision stays the same', () => {
    const reviewEnd = new Date('2027-03-01T00:00:00Z').getTime();
    const span = unchangedInForceSpan([signed], NOW);
    expect(span.until).toBeLessThanOrEqual(reviewEnd);
    expect(span.from).toBeLessThanOrEqual(NOW.getTime());
    const everyone = Object.values(A);
    const route = (at: Date) => routeTargets(signed.isp, signed.verification, A.socialWork, 'alert', 'child-protection', everyone, at).map((t) => t.agency.id);
    expect(route(new Date(span.until - 1))).toEqual(route(NOW));
    expect(route(new Date(span.until))).toEqual([]);
  });

  it('Has no end when no ISP changes after now, and no start before the first change', () => {
    expect(unchangedInForceSpan([], NOW)).toEqual({ from: Number.NEGATIVE_INFINITY, until: Number.POSITIVE_INFINITY });
    expect(unchangedInForceSpan([signed], new Date('2030-01-01T00:00:00Z')).until).toBe(Number.POSITIVE_INFINITY);
  });
});
