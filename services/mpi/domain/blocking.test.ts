import { blockingKeys } from './blocking.js';
import { toFeatures } from './features.js';
import type { DemographicRecord } from './record.js';

function keys(partial: Partial<DemographicRecord>): string[] {
  return blockingKeys(toFeatures({ id: 'r', given: [], ...partial }));
}

function share(a: Partial<DemographicRecord>, b: Partial<DemographicRecord>): boolean {
  const kb = new Set(keys(b));
  return keys(a).some((k) => kb.has(k));
}

const base: Partial<DemographicRecord> = {
  given: ['Robert'],
  family: 'MacDonald',
  birthDate: '1985-03-12',
  postcode: 'EH1 1YZ',
  addressLine: '14 Main Street',
  town: 'Edinburgh',
};

describe('blockingKeys', () => {
  it('puts the same person under the same keys despite a nickname, Mc/Mac and a transposed date', () => {
    expect(share(base, { given: ['Rab'], family: 'McDonald', birthDate: '1985-12-03' })).toBe(true);
  });

  it('still finds a pair when the surname changed and the address moved', () => {
    expect(share(base, { given: ['Bob'], family: 'Smith', birthDate: '1985-03-12', postcode: 'G12 8QQ' })).toBe(true);
  });

  it('still finds a pair when the birth date is missing and the surname mistyped', () => {
    expect(share(base, { given: ['Robert'], family: 'MacDonnald', postcode: 'EH1 1YZ' })).toBe(true);
  });

  it('finds swapped forename and family name', () => {
    expect(share({ given: ['Fraser'], family: 'Campbell' }, { given: ['Campbell'], family: 'Fraser' })).toBe(true);
  });

  it('indexes the CHI number', () => {
    expect(keys({ ...base, chi: '1203852711' })).toContain('c:1203852711');
  });

  it('keeps strangers with nothing in common apart', () => {
    expect(share(base, { given: ['Morag'], family: 'Wilson', birthDate: '1950-07-30', postcode: 'KW15 1AB' })).toBe(false);
  });

  it('gives no keys to a record with nothing to block on', () => {
    expect(keys({})).toEqual([]);
  });
});
