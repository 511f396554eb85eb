import { InputError, parseInput } from './input.js';

const patient = (id: string) => ({ resourceType: 'Patient', identifier: [{ system: 'https://fhir.infoshare.scot/id/patient/edinburgh-housing', value: id }] });

function problem(text: string, fileName: string): string {
  try {
    parseInput(text, fileName);
  } catch (err) {
    expect(err).toBeInstanceOf(InputError);
    return (err as Error).message;
  }
  throw new Error('expected the input to be refused');
}

describe('reading an agency extract', () => {
  it('reads a transaction Bundle of POST Patient entries, keeping each entry’s place and fullUrl', () => {
    const bundle = {
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [
        { fullUrl: 'urn:uuid:1', resource: patient('A'), request: { method: 'POST', url: 'Patient' } },
        { resource: patient('B'), request: { method: 'POST', url: 'Patient' } },
      ],
    };
    const records = parseInput(JSON.stringify(bundle), 'extract.json');
    expect(records.map((r) => r.where)).toEqual(['entry[0]', 'entry[1]']);
    expect(records[0]).toMatchObject({ fullUrl: 'urn:uuid:1', patient: { identifier: [{ value: 'A' }] } });
    expect(records[1]!.fullUrl).toBeUndefined();
  });

  it('takes the Patients of any other Bundle (a searchset, a collection) as records to create', () => {
    const bundle = { resourceType: 'Bundle', type: 'searchset', entry: [{ resource: patient('A') }, { resource: patient('B') }] };
    expect(parseInput(JSON.stringify(bundle), 'export.json')).toHaveLength(2);
  });

  it('reads NDJSON one Patient per line, skipping blank lines and naming records by line', () => {
    const text = `${JSON.stringify(patient('A'))}\n\n${JSON.stringify(patient('B'))}\r\n`;
    expect(parseInput(text, 'Patient.ndjson').map((r) => r.where)).toEqual(['line 1', 'line 3']);
  });

  it('refuses bad JSON in NDJSON naming the line, and lists every bad line at once', () => {
    const text = [JSON.stringify(patient('A')), '{"resourceType": "Patient",', JSON.stringify({ resourceType: 'Observation' })].join('\n');
    const message = problem(text, 'Patient.ndjson');
    expect(message).toContain('2 record(s) cannot be loaded; nothing was sent');
    expect(message).toMatch(/line 2: not JSON/);
    expect(message).toContain('line 3: an Observation, not a Patient');
  });

  it('refuses a Bundle entry that is not a Patient, or a transaction entry that is not a POST of one', () => {
    const bundle = {
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [
        { resource: patient('A'), request: { method: 'POST', url: 'Patient' } },
        { resource: { resourceType: 'Person' }, request: { method: 'POST', url: 'Person' } },
        { resource: patient('C'), request: { method: 'PUT', url: 'Patient/x' } },
        {},
      ],
    };
    const message = problem(JSON.stringify(bundle), 'extract.json');
    expect(message).toContain('entry[1]: a Person, not a Patient');
    expect(message).toContain('entry[2]: a PUT Patient/x; only POST Patient entries are loaded');
    expect(message).toContain('entry[3]: no resource');
  });

  it('refuses an empty file, a Bundle without entries, a non-Bundle resource and text that is not JSON', () => {
    expect(problem('  \n', 'empty.json')).toBe('empty.json is empty: nothing to load');
    expect(problem('{"resourceType":"Bundle","type":"transaction"}', 'none.json')).toBe('none.json has no records: nothing to load');
    expect(problem('{"resourceType":"Organization"}', 'org.json')).toContain('org.json is an Organization: expected a Bundle of Patients');
    expect(problem('{"resourceType":', 'broken.json')).toMatch(/^broken.json is not JSON: /);
  });

  it('suggests .ndjson when a .json file holds one resource per line', () => {
    const text = `${JSON.stringify(patient('A'))}\n${JSON.stringify(patient('B'))}\n`;
    expect(problem(text, 'patients.json')).toContain('name the file .ndjson');
  });

  it('loads a single Patient document as one record', () => {
    expect(parseInput(JSON.stringify(patient('A')), 'one.json')).toHaveLength(1);
  });
});
