import type { Bundle, CareTeam, FhirResource, Flag, MessageHeader, Patient } from 'fhir/r4.js';
import { isOperationOutcomeError, type OperationOutcomeError } from '../../../shared/fhir/outcome.js';
import { agencyPatientSystem, CodeSystems, IdentifierSystems } from '../../../shared/fhir/systems.js';
import { claimedSendersOf, claimsToBeResponse, messageKindOf, npLpAgenciesOf, npLpProblemOf, parseAlertMessage, subjectKeysOf } from './message.js';

const header = (over: Partial<MessageHeader> = {}): MessageHeader => ({
  resourceType: 'MessageHeader',
  id: 'hdr-1',
  eventCoding: { system: CodeSystems.alertEvent, code: 'alert-raised' },
  source: { endpoint: 'Organization/edinburgh-social-work' },
  sender: { reference: 'Organization/edinburgh-social-work' },
  focus: [{ reference: 'Flag/f1' }],
  ...over,
});
const flag = (over: Partial<Flag> = {}): Flag => ({
  resourceType: 'Flag',
  id: 'f1',
  status: 'active',
  category: [{ coding: [{ system: CodeSystems.alertCategory, code: 'child-protection' }] }],
  code: { text: 'On the child protection register' },
  subject: { reference: 'Patient/p1' },
  ...over,
});
const patient: Patient = { resourceType: 'Patient', id: 'p1', identifier: [{ system: agencyPatientSystem('edinburgh-social-work'), value: 'SW-1' }] };
const careTeam = (over: Partial<CareTeam> = {}): CareTeam => ({
  resourceType: 'CareTeam',
  id: 'ct',
  participant: [
    {
      role: [{ coding: [{ system: CodeSystems.careTeamRole, code: 'named-person' }] }],
      member: { display: 'Fiona MacLeod' },
      onBehalfOf: { reference: 'Organization/nhs-lothian' },
    },
  ],
  telecom: [{ system: 'phone', value: '0131 496 0311' }],
  ...over,
});
const bundle = (...resources: FhirResource[]): Bundle => ({
  resourceType: 'Bundle',
  type: 'message',
  entry: resources.map((resource) => ({ fullUrl: `urn:x:${resource.resourceType}/${resource.id ?? ''}`, resource })),
});

function refusal(fn: () => unknown): OperationOutcomeError {
  try {
    fn();
  } catch (err) {
    if (isOperationOutcomeError(err)) return err;
    throw err;
  }
  throw new Error('expected a refusal');
}

describe('reading an alert message', () => {
  it('reads the event, sender, alert, category, subject and NP/LP of a complete message', () => {
    const m = parseAlertMessage(bundle(header(), flag(), patient, careTeam()));
    expect(m).toMatchObject({ headerId: 'hdr-1', event: 'alert-raised', senderAgency: 'edinburgh-social-work', flagLocalId: 'f1', category: 'child-protection' });
    expect(m.patient.id).toBe('p1');
    expect(m.careTeam?.id).toBe('ct');
    expect(m.npLpProblem).toBeUndefined();
  });

  it('reads the destinations named in the header', () => {
    const m = parseAlertMessage(bundle(header({ destination: [{ endpoint: 'x', receiver: { reference: 'Organization/rie-emergency' } }] }), flag(), patient));
    expect(m.destinations).toEqual(['rie-emergency']);
  });

  it('refuses what is not a message Bundle (400)', () => {
    expect(refusal(() => messageKindOf({ resourceType: 'Patient' })).status).toBe(400);
    expect(refusal(() => messageKindOf({ resourceType: 'Bundle', type: 'collection' })).status).toBe(400);
    expect(refusal(() => messageKindOf({ resourceType: 'Bundle', type: 'message', entry: [{ resource: flag() }] })).status).toBe(400);
  });

  it('tells a response message (an acknowledgement) from a request', () => {
    expect(messageKindOf(bundle(header({ response: { identifier: 'x', code: 'ok' } })))).toBe('response');
    expect(messageKindOf(bundle(header()))).toBe('request');
  });

  it('tells a body that presents itself as an acknowledgement without judging its shape (anything else needs the right to raise alerts first)', () => {
    const response = header({ response: { identifier: 'x', code: 'ok' } });
    expect(claimsToBeResponse(bundle(response))).toBe(true);
    // Still an acknowledgement attempt (its shape refused afterwards: 400), whatever the Bundle says it is.
    expect(claimsToBeResponse({ resourceType: 'Bundle', type: 'collection', entry: [{ resource: response }] })).toBe(true);
    for (const body of [bundle(header()), { resourceType: 'Patient' }, null, 'text', [], { entry: 'x' }, { entry: [null] }, { entry: [{ resource: flag() }] }]) {
      expect(claimsToBeResponse(body)).toBe(false);
    }
  });

  it('refuses a focus that is not in the Bundle, and a message without a Flag (422)', () => {
    const missing = refusal(() => parseAlertMessage(bundle(header({ focus: [{ reference: 'Flag/other' }] }), flag(), patient)));
    expect(missing.status).toBe(422);
    expect(missing.outcome.issue[0]?.expression).toEqual(['Bundle.entry[0].resource.focus[0]']);
    expect(refusal(() => parseAlertMessage(bundle(header({ focus: [{ reference: 'Patient/p1' }] }), patient))).status).toBe(422);
    expect(refusal(() => parseAlertMessage(bundle(header({ focus: [] }), flag(), patient))).status).toBe(422);
  });

  it('refuses an unknown event or category, and a Flag with two alert categories', () => {
    expect(refusal(() => parseAlertMessage(bundle(header({ eventCoding: { system: CodeSystems.alertEvent, code: 'alert-accessed' } }), flag(), patient))).status).toBe(422);
    const odd = flag({ category: [{ coding: [{ system: CodeSystems.alertCategory, code: 'gossip' }] }] });
    expect(refusal(() => parseAlertMessage(bundle(header(), odd, patient))).message).toContain('gossip');
    const two = flag({ category: [{ coding: [{ system: CodeSystems.alertCategory, code: 'child-protection' }, { system: CodeSystems.alertCategory, code: 'fire-risk' }] }] });
    expect(refusal(() => parseAlertMessage(bundle(header(), two, patient))).status).toBe(422);
  });

  it('refuses a sender it cannot read, and a sender and source naming different agencies', () => {
    expect(refusal(() => parseAlertMessage(bundle(header({ sender: { reference: 'Practitioner/x' } }), flag(), patient))).status).toBe(422);
    expect(refusal(() => parseAlertMessage(bundle(header({ source: { endpoint: 'Organization/nhs-lothian' } }), flag(), patient))).message).toContain('different agencies');
  });

  it('reads the agencies a header claims to be from before the message is validated, whatever else it holds', () => {
    expect(claimedSendersOf(bundle(header(), flag(), patient))).toEqual(['edinburgh-social-work', 'edinburgh-social-work']);
    expect(claimedSendersOf(bundle(header({ sender: { reference: 'Organization/nhs-lothian' } }), { resourceType: 'Flag', status: 'banana' } as unknown as Flag))).toEqual([
      'nhs-lothian',
      'edinburgh-social-work',
    ]);
    // What names no agency is left to the full reading (422), and a body of any shape is read without throwing.
    expect(claimedSendersOf(bundle(header({ sender: { reference: 'Practitioner/x' }, source: { endpoint: 'https://x.example' } })))).toEqual([]);
    for (const odd of [null, 'x', [], { entry: 'x' }, { entry: [null] }, { entry: [{ resource: { sender: 'Organization/x', source: { endpoint: 7 } } }] }]) {
      expect(claimedSendersOf(odd)).toEqual([]);
    }
  });

  it('refuses resources an alert message does not carry', () => {
    const e = refusal(() => parseAlertMessage(bundle(header(), flag(), patient, { resourceType: 'Observation', status: 'final', code: { text: 'x' } })));
    expect(e.message).toContain('Observation');
  });

  it('says what is missing of the NP/LP details', () => {
    const m = parseAlertMessage(bundle(header(), flag(), patient, careTeam({ telecom: [] })));
    expect(m.careTeam).toBeUndefined();
    expect(m.npLpProblem).toContain('telecom');
    expect(parseAlertMessage(bundle(header(), flag(), patient)).npLpProblem).toContain('names no Named Person');
  });
});

describe('NP/LP details', () => {
  it('takes the organisation from the participant, else the team, and needs a name', () => {
    const team = careTeam({ participant: [{ role: [{ coding: [{ system: CodeSystems.careTeamRole, code: 'lead-professional' }] }], member: { display: ' ' } }], managingOrganization: [{ reference: 'Organization/edinburgh-social-work' }] });
    expect(npLpProblemOf(team)).toContain('no name');
    expect(npLpAgenciesOf(team)).toEqual(['edinburgh-social-work']);
  });

  it('lists each agency the NP/LP work for once', () => {
    expect(npLpAgenciesOf(careTeam())).toEqual(['nhs-lothian']);
  });
});

describe('the subject key', () => {
  it("tries the sender's own identifier first, then the CHI, and no other agency's", () => {
    const system = agencyPatientSystem('edinburgh-social-work');
    const both: Patient = { ...patient, identifier: [{ system: IdentifierSystems.chi, value: '1403231206' }, ...(patient.identifier ?? [])] };
    expect(subjectKeysOf(both, system)).toEqual([
      { kind: 'agency', system, value: 'SW-1' },
      { kind: 'chi', value: '1403231206' },
    ]);
    const chiOnly: Patient = { resourceType: 'Patient', identifier: [{ system: IdentifierSystems.chi, value: '1403231206' }] };
    expect(subjectKeysOf(chiOnly, system)).toEqual([{ kind: 'chi', value: '1403231206' }]);
    expect(subjectKeysOf({ resourceType: 'Patient', identifier: [{ system: agencyPatientSystem('nhs-lothian'), value: 'N-1' }] }, system)).toEqual([]);
  });
});
