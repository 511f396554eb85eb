import type { Organization, PractitionerRole } from 'fhir/r4.js';
import {
  codesOf,
  codingsOf,
  dateParam,
  defineResourceType,
  identifiersOf,
  indexEntries,
  indexNames,
  namesOf,
  normalizeString,
  referenceKey,
  referenceParam,
  referencesOf,
  searchParamSummary,
  stringParam,
  tokenIndexValues,
  tokenParam,
} from './search-params.js';

const roleType = defineResourceType('PractitionerRole', [
  tokenParam('role', (r) => codingsOf(r.code)),
  tokenParam('active', (r) => codesOf(r.active)),
  referenceParam('organization', ['Organization'], (r) => referencesOf(r.organization)),
  dateParam('date', (r) => [r.period ?? undefined]),
  stringParam('name', (r) => [r.practitioner?.display]),
]);

describe('defineResourceType', () => {
  it('adds _lastUpdated to every type and keeps the declared parameters by name', () => {
    expect([...roleType.params.keys()]).toEqual(['role', 'active', 'organization', 'date', 'name', '_lastUpdated']);
    expect(roleType.type).toBe('PractitionerRole');
  });

  it('summarises every parameter with its type, _id included, for the CapabilityStatement', () => {
    expect(searchParamSummary(roleType)).toEqual([
      { name: '_id', type: 'token' },
      { name: 'role', type: 'token' },
      { name: 'active', type: 'token' },
      { name: 'organization', type: 'reference' },
      { name: 'date', type: 'date' },
      { name: 'name', type: 'string' },
      { name: '_lastUpdated', type: 'date' },
    ]);
  });

  it('lists one index per lexical parameter and a lo/hi pair per date parameter', () => {
    expect(indexNames(roleType)).toEqual(['role', 'active', 'organization', 'date:lo', 'date:hi', 'name', '_lastUpdated:lo', '_lastUpdated:hi']);
  });

  it('rejects duplicate, reserved-looking or target-less declarations', () => {
    const name = stringParam<Organization>('name', (r) => [r.name]);
    expect(() => defineResourceType('Organization', [name, name])).toThrow('declared twice');
    expect(() => defineResourceType('Organization', [stringParam('_count', (r) => [r.name])])).toThrow('not allowed');
    expect(() => defineResourceType('Organization', [referenceParam('partof', [], (r) => referencesOf(r.partOf))])).toThrow('no target');
  });
});

describe('extract helpers', () => {
  it('takes the codings of CodeableConcepts and bare Codings, skipping ones without a code', () => {
    expect(
      codingsOf(
        [{ coding: [{ system: 's', code: 'a' }, { system: 's' }] }, { text: 'free text only' }],
        { system: 't', code: 'b' },
        undefined,
      ),
    ).toEqual([
      { system: 's', code: 'a' },
      { system: 't', code: 'b' },
    ]);
  });

  it('reads identifiers, codes and booleans as tokens', () => {
    expect(identifiersOf([{ system: 'urn:x', value: '1' }, { system: 'urn:x' }])).toEqual([{ system: 'urn:x', code: '1' }]);
    expect(codesOf('active', false, undefined, '')).toEqual([{ code: 'active' }, { code: 'false' }]);
  });

  it('reads references and every part of human names', () => {
    expect(referencesOf({ reference: 'Organization/1' }, [{ display: 'no reference' }, { reference: 'Organization/2' }])).toEqual([
      'Organization/1',
      'Organization/2',
    ]);
    expect(namesOf([{ family: 'MacLeod', given: ['Ailsa', 'Jane'], prefix: ['Dr'] }])).toEqual(['MacLeod', 'Ailsa', 'Jane', 'Dr']);
  });
});

describe('value encodings', () => {
  it('indexes a coding under its code alone and under system|code, or |code when it has no system', () => {
    expect(tokenIndexValues({ system: 'http://s', code: 'x' })).toEqual(['Cx', 'Shttp://s|x']);
    expect(tokenIndexValues({ code: 'x' })).toEqual(['Cx', 'Nx']);
  });

  it('reduces relative, absolute and versioned references to Type/id and ignores contained or urn ones', () => {
    expect(referenceKey('Organization/abc')).toBe('Organization/abc');
    expect(referenceKey('https://hub.example/fhir/Organization/abc')).toBe('Organization/abc');
    expect(referenceKey('Organization/abc/_history/3')).toBe('Organization/abc');
    expect(referenceKey('#contained')).toBeUndefined();
    expect(referenceKey('urn:uuid:1234')).toBeUndefined();
    expect(referenceKey('just-an-id')).toBeUndefined();
  });

  it('normalises strings to lower case without accents, control characters or extra spaces', () => {
    expect(normalizeString('  Édimbourg\tSOCIAL   Work ')).toBe('edimbourg social work');
  });
});

describe('indexEntries', () => {
  const role: PractitionerRole = {
    resourceType: 'PractitionerRole',
    id: 'r1',
    meta: { lastUpdated: '2024-05-01T10:00:00.000Z' },
    active: true,
    code: [{ coding: [{ system: 'urn:roles', code: 'named-person' }] }],
    organization: { reference: 'Organization/school' },
    practitioner: { display: 'Ms Ailsa MacLeod' },
    period: { start: '2024-01-01' },
  };

  it('writes lexical members as value␟id with score 0', () => {
    const entries = indexEntries(roleType, role);
    expect(entries.filter((e) => e.index === 'role')).toEqual([
      { index: 'role', score: 0, member: 'Cnamed-person\x1fr1' },
      { index: 'role', score: 0, member: 'Surn:roles|named-person\x1fr1' },
    ]);
    expect(entries).toContainEqual({ index: 'active', score: 0, member: 'Ctrue\x1fr1' });
    expect(entries).toContainEqual({ index: 'organization', score: 0, member: 'Organization/school\x1fr1' });
    expect(entries).toContainEqual({ index: 'name', score: 0, member: 'ms ailsa macleod\x1fr1' });
  });

  it('writes each date value as one member scored by its start in :lo and its end in :hi', () => {
    const entries = indexEntries(roleType, role);
    expect(entries.filter((e) => e.index.startsWith('date'))).toEqual([
      { index: 'date:lo', score: Date.UTC(2024, 0, 1), member: 'r1\x1f0' },
      { index: 'date:hi', score: 8.64e15, member: 'r1\x1f0' },
    ]);
    const updated = Date.parse('2024-05-01T10:00:00.000Z');
    expect(entries).toContainEqual({ index: '_lastUpdated:lo', score: updated, member: 'r1\x1f0' });
    expect(entries).toContainEqual({ index: '_lastUpdated:hi', score: updated, member: 'r1\x1f0' });
  });

  it('writes a repeated value once and skips values it cannot index', () => {
    const twice: PractitionerRole = { ...role, code: [role.code?.[0] ?? {}, role.code?.[0] ?? {}], period: { start: 'not a date' } };
    const entries = indexEntries(roleType, twice);
    expect(entries.filter((e) => e.index === 'role')).toHaveLength(2);
    expect(entries.filter((e) => e.index.startsWith('date:'))).toEqual([]);
  });
});
