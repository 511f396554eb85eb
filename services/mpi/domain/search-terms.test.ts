import type { Patient } from 'fhir/r4.js';
import { bucketOf, recordTerms, termChanges } from './search-terms.js';

const patient = (id: string, extra: Partial<Patient> = {}): Patient => ({
  resourceType: 'Patient',
  id,
  name: [{ family: 'MacDónald', given: ['Rab', 'Ian'] }],
  birthDate: '2014-03-07',
  address: [{ postalCode: 'EH6 5DT' }],
  ...extra,
});

describe('recordTerms', () => {
  it('files a record under its family and given names (normalised), birth date and postcode without spaces', () => {
    expect(recordTerms(patient('a')).sort()).toEqual(['b:2014-03-07', 'f:macdonald', 'g:ian', 'g:rab', 'p:eh65dt']);
  });

  it('reads a name given only as text as matching does: the last word is the family name', () => {
    expect(recordTerms({ resourceType: 'Patient', name: [{ text: 'Senga  Mary Laing' }] }).sort()).toEqual(['f:laing', 'g:mary', 'g:senga']);
  });

  it('leaves out what cannot be searched: an impossible birth date, blank names', () => {
    expect(recordTerms({ resourceType: 'Patient', birthDate: '2023-02-30', name: [{ family: ' ', given: [''] }] })).toEqual([]);
  });

  it('files a very long value by its first 100 characters', () => {
    const [term] = recordTerms({ resourceType: 'Patient', name: [{ family: 'x'.repeat(500) }] });
    expect(term).toBe(`f:${'x'.repeat(100)}`);
  });

  it('counts the 100 characters of a long value by code point, never splitting a character outside the BMP', () => {
    const [term] = recordTerms({ resourceType: 'Patient', name: [{ family: `a${'𝔸'.repeat(150)}` }] });
    expect(term).toBe(`f:a${'𝔸'.repeat(99)}`);
  });
});

describe('termChanges', () => {
  it('adds every term of a new record', () => {
    const changes = termChanges([{ patient: patient('a') }]);
    expect(changes.map((c) => [c.field, c.adds, c.removes])).toContainEqual(['f:macdonald', ['a'], []]);
    expect(changes.every((c) => c.adds.length === 1 && c.removes.length === 0)).toBe(true);
  });

  it('moves only what changed between versions', () => {
    const previous = patient('a');
    const moved = patient('a', { address: [{ postalCode: 'G41 2AB' }] });
    const changes = termChanges([{ patient: moved, previous }]);
    expect(changes.map((c) => [c.field, c.adds, c.removes]).sort()).toEqual([
      ['p:eh65dt', [], ['a']],
      ['p:g412ab', ['a'], []],
    ]);
  });

  it('groups records of a chunk by term, each term with its bucket', () => {
    const changes = termChanges([{ patient: patient('a') }, { patient: patient('b') }]);
    expect(changes.find((c) => c.field === 'f:macdonald')).toEqual({ field: 'f:macdonald', bucket: 'f:ma', adds: ['a', 'b'], removes: [] });
    expect(changes.find((c) => c.field === 'b:2014-03-07')?.bucket).toBe('b:201');
  });

  it('files a record under the terms its write carries (worked out before the index lock) rather than working them out again', () => {
    const changes = termChanges([{ patient: patient('a'), terms: ['f:macdonald', 'g:rab'] }]);
    expect(changes.map((c) => c.field)).toEqual(['f:macdonald', 'g:rab']);
  });

  it('computes the same change from the same write, so re-applying it is re-applying a set operation', () => {
    const write = { patient: patient('a', { birthDate: '1999' }), previous: patient('a') };
    expect(termChanges([write])).toEqual(termChanges([write]));
  });
});

describe('bucketOf', () => {
  it('groups names by their first two characters and birth dates by decade', () => {
    expect(bucketOf('f', 'macdonald')).toBe('ma');
    expect(bucketOf('g', 'é')).toBe('é');
    expect(bucketOf('b', '2014-03-07')).toBe('201');
    // Two characters, not two UTF-16 units: a name starting outside the BMP keeps its whole first character.
    expect(bucketOf('f', '𝔸𝔹c')).toBe('𝔸𝔹');
  });
});
