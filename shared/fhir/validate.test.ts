import type { OperationOutcomeIssue } from 'fhir/r4.js';
import { MAX_ISSUES } from './outcome.js';
import { integralSpellingError, validityOf } from './validate.js';
import { jsonBodyProblem, jsonPathsAt, MAX_JSON_DEPTH, type NumberSpelling } from '../http/input-guard.js';

/** The issues validation finds in `resource` ([] when it is valid), with its status. */
function problems(resource: unknown): { status?: number; issues: OperationOutcomeIssue[] } {
  const v = validityOf(resource);
  return v.valid ? { issues: [] } : { status: v.status, issues: v.issues };
}

const expressions = (resource: unknown) => problems(resource).issues.flatMap((i) => i.expression ?? []);
const texts = (resource: unknown) => problems(resource).issues.map((i) => i.details?.text ?? '').join(' | ');

const patient = { resourceType: 'Patient', name: [{ family: 'McDonald', given: ['Rab'] }], birthDate: '2014-03-07', gender: 'male' };

describe('R4 validation: what the structure validator alone lets through', () => {
  it('accepts a valid Patient, and real dates such as 29 February of a leap year', () => {
    expect(problems(patient).issues).toEqual([]);
    expect(problems({ ...patient, birthDate: '2024-02-29', deceasedDateTime: '2024-02-29T10:00:00Z' }).issues).toEqual([]);
  });

  it('refuses impossible calendar dates in dates, dateTimes and Periods, naming the element', () => {
    expect(problems({ ...patient, birthDate: '2023-02-30' })).toMatchObject({ status: 422 });
    expect(expressions({ ...patient, birthDate: '2023-02-30' })).toEqual(['Patient.birthDate']);
    expect(expressions({ ...patient, birthDate: '2023-04-31' })).toEqual(['Patient.birthDate']);
    expect(expressions({ ...patient, birthDate: '1900-02-29' })).toEqual(['Patient.birthDate']);
    const team = { resourceType: 'CareTeam', status: 'active', period: { start: '2023-02-30', end: '2023-03-01T00:00:00Z' } };
    expect(expressions(team)).toEqual(['CareTeam.period.start']);
  });

  it('refuses a Period that ends before it starts (per-1), comparing partial dates and zones over what they may mean', () => {
    const team = (period: { start?: string; end?: string }) => ({ resourceType: 'CareTeam', status: 'active', period });
    expect(problems(team({ start: '2026-06-02', end: '2026-06-01' }))).toMatchObject({ status: 422 });
    expect(expressions(team({ start: '2026-06-02', end: '2026-06-01' }))).toEqual(['CareTeam.period']);
    expect(texts(team({ start: '2026-06-02', end: '2026-06-01' }))).toContain('per-1: the period ends (2026-06-01) before it starts (2026-06-02)');
    expect(expressions(team({ start: '2026-06-01T10:00:00Z', end: '2026-06-01T09:59:59Z' }))).toEqual(['CareTeam.period']);
    expect(expressions(team({ start: '2027', end: '2026-12-31' }))).toEqual(['CareTeam.period']);
    // One day, a day within its month or year, a zoned time on an unzoned day, an open end: all periods.
    for (const period of [
      { start: '2026-06-01', end: '2026-06-01' },
      { start: '2026-06', end: '2026-06-15' },
      { start: '2026-06-15', end: '2026-06' },
      { start: '2026', end: '2026-01-01' },
      { start: '2026-06-01T23:30:00-10:00', end: '2026-06-01' },
      { start: '2026-06-01' },
    ]) expect(problems(team(period)).issues).toEqual([]);
    // Inside a Bundle entry too: an alert's Flag.
    const flag = { resourceType: 'Flag', status: 'active', code: { text: 'x' }, subject: { reference: 'Patient/p' }, period: { start: '2027-01-01', end: '2026-01-01' } };
    expect(expressions({ resourceType: 'Bundle', type: 'collection', entry: [{ fullUrl: 'urn:uuid:0c4f9f5e-6a51-4d4e-9a43-7d4e8a9e1a02', resource: flag }] })).toEqual(['Bundle.entry[0].resource.period']);
  });

  it('refuses codes outside a required binding: gender, CareTeam.status, daysOfWeek', () => {
    expect(expressions({ ...patient, gender: 'banana' })).toEqual(['Patient.gender']);
    expect(texts({ ...patient, gender: 'banana' })).toMatch(/administrative-gender.*male, female, other, unknown/);
    expect(expressions({ resourceType: 'CareTeam', status: 'bogus' })).toEqual(['CareTeam.status']);
    const role = { resourceType: 'PractitionerRole', availableTime: [{ daysOfWeek: ['mon', 'bogus'] }] };
    expect(expressions(role)).toEqual(['PractitionerRole.availableTime[0].daysOfWeek[1]']);
    expect(problems({ ...role, availableTime: [{ daysOfWeek: ['mon', 'sun'] }] }).issues).toEqual([]);
  });

  it('checks a bound Coding of the value set’s own system, and leaves open value sets (mime types) alone', () => {
    const clinical = 'http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical';
    const allergy = (code: string) => ({ resourceType: 'AllergyIntolerance', patient: { reference: 'Patient/1' }, clinicalStatus: { coding: [{ system: clinical, code }] } });
    expect(expressions(allergy('bogus'))).toEqual(['AllergyIntolerance.clinicalStatus.coding[0].code']);
    expect(problems(allergy('resolved')).issues).toEqual([]);
    expect(problems({ resourceType: 'DocumentReference', status: 'current', content: [{ attachment: { contentType: 'application/x-anything' } }] }).issues).toEqual([]);
  });

  it('refuses a narrative with a script or an event handler (txt-1), naming Narrative.div; takes plain formatting', () => {
    const withText = (div: string) => ({ ...patient, text: { status: 'generated', div } });
    expect(problems(withText('<div xmlns="http://www.w3.org/1999/xhtml"><p>Rab McDonald</p></div>')).issues).toEqual([]);
    const scripted = withText('<div xmlns="http://www.w3.org/1999/xhtml"><img src="x" onerror="alert(1)"/>Rab</div>');
    expect(problems(scripted)).toMatchObject({ status: 422 });
    expect(expressions(scripted)).toEqual(['Patient.text.div']);
    expect(texts(withText('<div xmlns="http://www.w3.org/1999/xhtml"><script>alert(1)</script></div>'))).toMatch(/txt-1/);
    // Inside a contained resource too.
    const contained = { ...patient, contained: [{ resourceType: 'Organization', id: 'o', text: { status: 'generated', div: '<div><script>x</script>y</div>' } }] };
    expect(expressions(contained)).toEqual(['Patient.contained[0].text.div']);
  });

  it('refuses integers outside 32 bits (multipleBirthInteger 1e308)', () => {
    expect(expressions({ ...patient, multipleBirthInteger: 1e308 })).toEqual(['Patient.multipleBirthInteger']);
    expect(expressions({ ...patient, multipleBirthInteger: 2_147_483_648 })).toEqual(['Patient.multipleBirthInteger']);
    expect(problems({ ...patient, multipleBirthInteger: 2 }).issues).toEqual([]);
  });

  it('answers a 900 KB string where an array is expected with one issue, not one per character', () => {
    const { status, issues } = problems({ ...patient, name: 'x'.repeat(900_000) });
    expect(status).toBe(422);
    expect(issues).toEqual([expect.objectContaining({ code: 'structure', expression: ['Patient.name'] })]);
    expect(expressions({ ...patient, maritalStatus: 'y'.repeat(100_000) })).toEqual(['Patient.maritalStatus']);
    expect(expressions({ ...patient, name: [[[{ family: 'x' }]]] })).toEqual(['Patient.name[0]']);
    // Unknown elements are still named when the shape is wrong elsewhere.
    expect(expressions({ ...patient, name: 'x', favouriteColour: 'blue' })).toEqual(['Patient.name', 'Patient.favouriteColour']);
  });

  it(`lists at most ${MAX_ISSUES} problems and counts the rest`, () => {
    const { issues } = problems({ ...patient, name: Array.from({ length: 5000 }, () => 'not a HumanName') });
    expect(issues).toHaveLength(MAX_ISSUES + 1);
    expect(issues[MAX_ISSUES]?.details?.text).toMatch(/and 4900 more/);
    const numbers = problems({ ...patient, name: [{ given: Array.from({ length: 5000 }, (_, i) => i) }] }).issues;
    expect(numbers).toHaveLength(MAX_ISSUES + 1);
    expect(numbers[0]?.expression).toEqual(['Patient.name[0].given[0]']);
  });

  it('refuses nesting ten thousand deep without overflowing the stack', () => {
    let deep: Record<string, unknown> = { url: 'https://example.org/x', valueString: 'leaf' };
    for (let i = 0; i < 10_000; i++) deep = { url: 'https://example.org/x', extension: [deep] };
    const { status, issues } = problems({ ...patient, extension: [deep] });
    expect(status).toBe(422);
    expect(issues[0]?.details?.text).toMatch(/deeper than/);
  });

  it('refuses prototype keys the structure validator would let through', () => {
    const org = JSON.parse('{"resourceType":"Organization","name":"x","__proto__":{"admin":true}}') as unknown;
    expect(expressions(org)).toEqual(['Organization.__proto__']);
    expect(expressions({ resourceType: 'Organization', name: 'x', address: [{ constructor: { prototype: {} } }] })).toEqual(['Organization.address[0].constructor']);
  });

  it('checks resources inside resources (a Parameters parameter, a contained resource)', () => {
    const params = { resourceType: 'Parameters', parameter: [{ name: 'resource', resource: { ...patient, birthDate: '2023-02-30' } }] };
    expect(expressions(params)).toEqual(['Parameters.parameter[0].resource.birthDate']);
    expect(expressions({ ...patient, contained: [{ resourceType: 'Patient', gender: 'banana' }] })).toEqual(['Patient.contained[0].gender']);
  });
});

describe('integers written 2.0, 1e2 or -0 (JSON.parse reads them as integers)', () => {
  /** The refusal of a JSON text's integral spellings, as the body parser judges them. */
  function refusal(text: string) {
    const found: NumberSpelling[] = [];
    const body = Buffer.from(text);
    expect(jsonBodyProblem(body, MAX_JSON_DEPTH, found)).toBeUndefined();
    const paths = jsonPathsAt(body, found.map((f) => f.offset)) ?? [];
    return integralSpellingError(JSON.parse(text), found.flatMap((f, i) => (f.integral ? [{ path: paths[i]!, text: f.text }] : [])));
  }
  const with_ = (extra: string) => JSON.stringify(patient).replace('{', `{${extra},`);

  it('refuses them where an R4 integer type is wanted, naming the element', () => {
    for (const n of ['1e2', '2.0', '2E0', '20e-1']) {
      const err = refusal(with_(`"multipleBirthInteger":${n}`));
      expect(err?.status).toBe(422);
      expect(err?.outcome.issue[0]?.expression).toEqual(['Patient.multipleBirthInteger']);
      expect(err?.outcome.issue[0]?.details?.text).toContain(n);
    }
    const parameters = '{"resourceType":"Parameters","parameter":[{"name":"resource","resource":{"resourceType":"Patient"}},{"name":"count","valueInteger":2.0}]}';
    expect(refusal(parameters)?.outcome.issue[0]?.expression).toEqual(['Parameters.parameter[1].valueInteger']);
    const entry = '{"resourceType":"Bundle","type":"transaction","entry":[{"resource":{"resourceType":"Patient","contact":[{"period":{"start":"2020"}}],"multipleBirthInteger":3.0},"request":{"method":"POST","url":"Patient"}}]}';
    expect(refusal(entry)?.outcome.issue[0]?.expression).toEqual(['Bundle.entry[0].resource.multipleBirthInteger']);
    const timing = '{"resourceType":"CarePlan","status":"active","intent":"plan","subject":{"reference":"Patient/x"},"activity":[{"detail":{"status":"scheduled","scheduledTiming":{"repeat":{"count":-0,"frequency":1e0}}}}]}';
    expect(refusal(timing)?.outcome.issue.map((i) => i.expression?.[0])).toEqual(['CarePlan.activity[0].detail.scheduledTiming.repeat.count', 'CarePlan.activity[0].detail.scheduledTiming.repeat.frequency']);
  });

  it('takes them where a decimal is wanted, -0 where an integer is, and in bodies that are no resource', () => {
    expect(refusal('{"resourceType":"Observation","status":"final","code":{"text":"x"},"valueQuantity":{"value":2.0}}')).toBeUndefined();
    expect(refusal('{"resourceType":"Observation","status":"final","code":{"text":"x"},"valueQuantity":{"value":1e2},"referenceRange":[{"low":{"value":-0}}]}')).toBeUndefined();
    expect(refusal(with_('"multipleBirthInteger":-0'))).toBeUndefined();
    expect(refusal('{"count":2.0,"after":1e2}')).toBeUndefined();
    expect(refusal(with_('"extension":[{"url":"http://example.org/x","valueDecimal":2.0}]'))).toBeUndefined();
  });
});
