import type { Consent } from 'fhir/r4.js';
import { CodeSystems, type ConsentCategory, type Purpose } from '../../../shared/fhir/systems.js';
import { consentProblems, consentRecordOf } from './consent.js';
import { decideConsent, type AccessIntent, type DecisionFacts, type Requester } from './consent-decision.js';

const NOW = Date.parse('2026-12-06T10:00:00Z');
const SW = 'edinburgh-social-work';
const EDU = 'edinburgh-education';
const NHS = 'nhs-lothian';

const education: Requester = { kind: 'agency', agencyId: EDU, agencyType: 'education', practitionerRole: 'PractitionerRole/role-callum-stewart' };
const health: Requester = { kind: 'agency', agencyId: NHS, agencyType: 'nhs-board' };
const ae: Requester = { kind: 'agency', agencyId: 'rie-emergency', agencyType: 'emergency-department' };
const plan = { category: 'plans' as ConsentCategory, authorAgency: SW };
const normal: AccessIntent = { purpose: 'care-planning' };

function grant(overrides: { id?: string; status?: Consent['status']; actor?: string; classes?: string[]; purposes?: Purpose[]; start?: string; end?: string; type?: 'permit' | 'deny' } = {}): Consent {
  return {
    resourceType: 'Consent',
    id: overrides.id ?? 'c1',
    status: overrides.status ?? 'active',
    scope: { coding: [{ system: CodeSystems.consentScope, code: 'patient-privacy' }] },
    category: [{ coding: [{ system: 'http://loinc.org', code: '59284-0' }] }],
    patient: { reference: 'Patient/demo-child-1' },
    policyRule: { coding: [{ system: CodeSystems.actCode, code: 'OPTIN' }] },
    provision: {
      type: 'deny',
      provision: [
        {
          type: overrides.type ?? 'permit',
          ...(overrides.actor !== undefined ? { actor: [{ role: { coding: [{ code: 'IRCP' }] }, reference: { reference: overrides.actor } }] } : {}),
          class: (overrides.classes ?? ['plans']).map((code) => ({ system: CodeSystems.consentCategory, code })),
          ...(overrides.purposes ? { purpose: overrides.purposes.map((code) => ({ system: CodeSystems.purpose, code })) } : {}),
          ...(overrides.start || overrides.end ? { period: { ...(overrides.start ? { start: overrides.start } : {}), ...(overrides.end ? { end: overrides.end } : {}) } } : {}),
        },
      ],
    },
  };
}

function facts(consents: Consent[], more: Partial<DecisionFacts> = {}): DecisionFacts {
  return {
    subjectPersonId: 'P1',
    consents: consents.map(consentRecordOf),
    npLpRoles: ['PractitionerRole/role-fiona-macleod'],
    ispAllows: () => true,
    now: NOW,
    ...more,
  };
}

describe('the consent decision', () => {
  it('denies by default: another agency without a Consent sees nothing', () => {
    const d = decideConsent(education, normal, plan, facts([]));
    expect(d).toMatchObject({ permit: false, reason: 'no-consent' });
  });

  it('lets the authoring agency read what it wrote, with no Consent and no ISP term', () => {
    const d = decideConsent({ kind: 'agency', agencyId: SW, agencyType: 'social-work' }, normal, plan, facts([], { ispAllows: () => false }));
    expect(d).toMatchObject({ permit: true, basis: 'author', crossAgency: false });
  });

  it('lets the agency a request for assistance is assigned to read that request', () => {
    const request = { category: 'requests' as ConsentCategory, authorAgency: SW, performerAgency: EDU };
    expect(decideConsent(education, normal, request, facts([]))).toMatchObject({ permit: true, basis: 'performer' });
    expect(decideConsent(health, normal, request, facts([]))).toMatchObject({ permit: false });
  });

  it("lets the person's Named Person read within the ISP, and not outside it", () => {
    const np: Requester = { kind: 'agency', agencyId: NHS, agencyType: 'nhs-board', practitionerRole: 'PractitionerRole/role-fiona-macleod' };
    expect(decideConsent(np, normal, plan, facts([]))).toMatchObject({ permit: true, basis: 'np-lp', crossAgency: true });
    expect(decideConsent(np, normal, plan, facts([], { ispAllows: () => false }))).toMatchObject({ permit: false, reason: 'outside-isp' });
  });

  it('grants an agency the categories a Consent names, and only those', () => {
    const f = facts([grant({ actor: `Organization/${EDU}`, classes: ['plans', 'assessments'] })]);
    expect(decideConsent(education, normal, plan, f)).toMatchObject({ permit: true, basis: 'consent', consent: 'Consent/c1', crossAgency: true });
    expect(decideConsent(education, normal, { ...plan, category: 'assessments' }, f)).toMatchObject({ permit: true });
    expect(decideConsent(education, normal, { ...plan, category: 'requests' }, f)).toMatchObject({ permit: false, reason: 'no-consent' });
    expect(decideConsent(health, normal, plan, f)).toMatchObject({ permit: false, reason: 'no-consent' });
  });

  it('grants one practitioner role without granting the rest of their agency', () => {
    const f = facts([grant({ actor: 'PractitionerRole/role-callum-stewart' })]);
    expect(decideConsent(education, normal, plan, f)).toMatchObject({ permit: true });
    expect(decideConsent({ kind: 'agency', agencyId: EDU, agencyType: 'education' }, normal, plan, f)).toMatchObject({ permit: false });
  });

  it('narrowing a Consent (fewer categories) withdraws what it no longer names', () => {
    const wide = facts([grant({ actor: `Organization/${EDU}`, classes: ['plans', 'chronology'] })]);
    const narrowed = facts([grant({ actor: `Organization/${EDU}`, classes: ['chronology'] })]);
    expect(decideConsent(education, normal, plan, wide).permit).toBe(true);
    expect(decideConsent(education, normal, plan, narrowed)).toMatchObject({ permit: false, reason: 'no-consent' });
  });

  it('a revoked (inactive) Consent grants nothing', () => {
    const f = facts([grant({ actor: `Organization/${EDU}`, status: 'inactive' })]);
    expect(decideConsent(education, normal, plan, f)).toMatchObject({ permit: false, reason: 'no-consent' });
  });

  it('a draft or rejected Consent grants nothing', () => {
    for (const status of ['draft', 'rejected', 'proposed', 'entered-in-error'] as const) {
      expect(decideConsent(education, normal, plan, facts([grant({ actor: `Organization/${EDU}`, status })])).permit).toBe(false);
    }
  });

  it('holds only within its period: not before it starts, not after the day it ends; extending it restores access', () => {
    const future = facts([grant({ actor: `Organization/${EDU}`, start: '2027-01-01' })]);
    const ended = facts([grant({ actor: `Organization/${EDU}`, end: '2026-12-05' })]);
    const endsToday = facts([grant({ actor: `Organization/${EDU}`, end: '2026-12-06' })]);
    const extended = facts([grant({ actor: `Organization/${EDU}`, end: '2027-06-30' })]);
    expect(decideConsent(education, normal, plan, future).permit).toBe(false);
    expect(decideConsent(education, normal, plan, ended).permit).toBe(false);
    expect(decideConsent(education, normal, plan, endsToday).permit).toBe(true);
    expect(decideConsent(education, normal, plan, extended).permit).toBe(true);
  });

  it('grants for the purposes it names only', () => {
    const f = facts([grant({ actor: `Organization/${EDU}`, purposes: ['child-wellbeing'] })]);
    expect(decideConsent(education, normal, plan, f).permit).toBe(false);
    expect(decideConsent(education, { purpose: 'child-wellbeing' }, plan, f).permit).toBe(true);
  });

  it('never widens the ISP: a Consent for an agency the ISP does not allow is refused as outside the ISP', () => {
    const f = facts([grant({ actor: 'Organization/police-scotland-e-division' })], {
      ispAllows: (sender, receiver, category, purpose) => !(receiver === 'police-scotland-e-division' && category === 'plan' && purpose === 'care-planning' && sender === SW),
    });
    const police: Requester = { kind: 'agency', agencyId: 'police-scotland-e-division', agencyType: 'police' };
    expect(decideConsent(police, normal, plan, f)).toMatchObject({ permit: false, reason: 'outside-isp' });
  });

  it('a deny provision wins over a permit, in the same or another Consent', () => {
    const f = facts([grant({ id: 'c1', actor: `Organization/${EDU}` }), grant({ id: 'c2', actor: `Organization/${EDU}`, type: 'deny' })]);
    expect(decideConsent(education, normal, plan, f)).toMatchObject({ permit: false, reason: 'denied-by-consent', consent: 'Consent/c2' });
  });

  it('alerts follow the ISP unless a Consent withholds them from the recipient', () => {
    const alert = { category: 'alerts' as ConsentCategory, authorAgency: SW };
    expect(decideConsent(health, normal, alert, facts([]))).toMatchObject({ permit: true, basis: 'isp' });
    const withheld = facts([grant({ actor: `Organization/${NHS}`, classes: ['alerts'], type: 'deny' })]);
    expect(decideConsent(health, normal, alert, withheld)).toMatchObject({ permit: false, reason: 'denied-by-consent' });
    expect(decideConsent(education, normal, alert, withheld)).toMatchObject({ permit: true });
  });

  it('lets A&E break the glass with a reason, whatever the Consents say', () => {
    const f = facts([grant({ actor: 'Organization/rie-emergency', type: 'deny' })]);
    expect(decideConsent(ae, { purpose: 'care-planning', breakGlass: { reason: 'unconscious, no history' } }, plan, f)).toMatchObject({ permit: true, basis: 'break-glass' });
  });

  it('refuses break-glass without a reason, and by an agency type not allowed it', () => {
    expect(decideConsent(ae, { purpose: 'care-planning', breakGlass: { reason: '  ' } }, plan, facts([]))).toMatchObject({ permit: false, reason: 'break-glass-no-reason' });
    expect(decideConsent(education, { purpose: 'care-planning', breakGlass: { reason: 'worried' } }, plan, facts([]))).toMatchObject({ permit: false, reason: 'break-glass-not-allowed' });
  });

  it("lets a person read their own record and refuses anyone else's", () => {
    expect(decideConsent({ kind: 'patient', personId: 'P1' }, normal, plan, facts([]))).toMatchObject({ permit: true, basis: 'self' });
    expect(decideConsent({ kind: 'patient', personId: 'P2' }, normal, plan, facts([]))).toMatchObject({ permit: false, reason: 'other-person' });
    expect(decideConsent({ kind: 'patient' }, normal, plan, facts([]))).toMatchObject({ permit: false, reason: 'other-person' });
  });
});

describe('reading a Consent', () => {
  it('accepts the PCF shape', () => {
    expect(consentProblems(grant({ actor: `Organization/${EDU}` }))).toEqual([]);
  });

  it('refuses an unknown category, an impossible period, a bad actor and a missing scope, naming each', () => {
    const bad: Consent = { ...grant({ actor: 'Patient/x', classes: ['gossip'], start: '2027-01-01', end: '2026-01-01' }), scope: { text: 'x' } };
    const expressions = consentProblems(bad).map((p) => p.expression);
    expect(expressions).toEqual(
      expect.arrayContaining(['Consent.scope', 'Consent.provision.provision[0].actor[0].reference', 'Consent.provision.provision[0].class[0]', 'Consent.provision.provision[0].period']),
    );
  });

  it('refuses a date that does not exist', () => {
    expect(consentProblems(grant({ actor: `Organization/${EDU}`, end: '2027-02-30' })).map((p) => p.expression)).toEqual(['Consent.provision.provision[0].period.end']);
  });

  it('reads a flat permit on the base provision as one grant', () => {
    const flat: Consent = { ...grant(), provision: { type: 'permit', actor: [{ role: { text: 'recipient' }, reference: { reference: `Organization/${EDU}` } }] } };
    expect(consentProblems(flat)).toEqual([]);
    expect(decideConsent(education, normal, plan, facts([flat])).permit).toBe(true);
  });
});
