import {
  birthDatesApart,
  compareAddress,
  compareAll,
  compareBirthDate,
  compareChi,
  compareFamily,
  compareGiven,
  comparePhone,
  comparePostcode,
  compareSex,
  compareResidence,
  compareTown,
  COMPARATORS,
  FIELD_COUNT,
  FIELD_LEVELS,
  FIELD_NAMES,
  fieldIndex,
  MISSING,
  type FieldName,
} from './comparators.js';
import { toFeatures } from './features.js';
import type { DemographicRecord } from './record.js';

function f(partial: Partial<DemographicRecord>) {
  return toFeatures({ id: partial.id ?? 'r', given: partial.given ?? [], ...partial });
}

function level(field: FieldName, index: number): string {
  return index === MISSING ? 'missing' : FIELD_LEVELS[field][index]!;
}

describe('forename comparison', () => {
  const given = (a: string[], b: string[]) => level('given', compareGiven(f({ given: a }), f({ given: b })));

  it('recognises nicknames and diminutives from the sourced lookup, at the nickname level', () => {
    expect(given(['Effie'], ['Euphemia'])).toBe('nickname');
    expect(given(['Lottie'], ['Charlotte', 'Anne'])).toBe('nickname');
    expect(given(['Nell'], ['Ellen'])).toBe('nickname');
  });

  it('recognises Scottish nicknames', () => {
    expect(given(['Rab'], ['Robert'])).toBe('nickname');
    expect(given(['Senga'], ['Agnes'])).toBe('nickname');
    expect(given(['Sandy'], ['Alexander'])).toBe('nickname');
    expect(given(['Wullie'], ['William'])).toBe('nickname');
  });

  it('grades typos, spelling variants, initials and middle names', () => {
    expect(given(['Morag'], ['morag'])).toBe('exact');
    expect(given(['Catriona'], ['Catrina'])).toBe('similar');
    expect(given(['Lorna'], ['Lorraine'])).toBe('close');
    expect(given(['J'], ['John'])).toBe('initial');
    expect(given(['Andrew'], ['John', 'Andrew'])).toBe('other-forename');
    expect(given(['Morag'], ['Shona'])).toBe('different');
    expect(given([], ['Shona'])).toBe('missing');
  });
});

describe('family name comparison', () => {
  const family = (a: string, b: string) => level('family', compareFamily(f({ family: a }), f({ family: b })));

  it('treats Mc, Mac and M\' as the same name', () => {
    expect(family('McDonald', 'MacDonald')).toBe('exact');
    expect(family("M'Kenzie", 'Mackenzie')).toBe('exact');
  });

  it('grades typos, phonetic variants and double-barrelled parts', () => {
    expect(family('Campbell', 'Campbel')).toBe('similar');
    expect(family('Stewart', 'Stuart')).toBe('close');
    expect(family('Smith', 'Smith-Jones')).toBe('part');
    expect(family('Smith', 'Wilson')).toBe('different');
  });
});

describe('birth date comparison', () => {
  const dob = (a?: string, b?: string) =>
    level('birthDate', compareBirthDate(f({ birthDate: a }), f({ birthDate: b })));

  it('recognises day and month transposed', () => {
    expect(dob('1985-03-12', '1985-12-03')).toBe('transposed');
  });

  it('recognises a one-year slip and a one-digit typo', () => {
    expect(dob('1985-03-12', '1986-03-12')).toBe('year-slip');
    expect(dob('1985-03-12', '1985-03-17')).toBe('one-digit');
    expect(dob('1985-03-12', '1958-03-12')).toBe('one-digit'); // adjacent digits swapped
  });

  it('compares partial dates on the parts present', () => {
    expect(dob('1985', '1985-03-12')).toBe('partial');
    expect(dob('1985-03', '1985-03-12')).toBe('partial');
    expect(dob('1985-04', '1985-03-12')).toBe('different');
  });

  it('separates exact, different, apart and missing', () => {
    expect(dob('1985-03-12', '1985-03-12')).toBe('exact');
    expect(dob(undefined, '1972-07-30')).toBe('missing');
    // One part wrong beyond a typo, a year slip with another part wrong, or a 1 January estimate: different.
    expect(dob('1985-03-12', '1985-07-30')).toBe('different');
    expect(dob('1985-03-12', '1962-03-12')).toBe('different');
    expect(dob('1985-03-12', '1986-07-30')).toBe('different');
    expect(dob('1985-03-12', '1980-01-01')).toBe('different');
    // No single slip or estimate turns one into the other: apart (a father and his son).
    expect(dob('1985-03-12', '1972-07-30')).toBe('apart');
    expect(dob('1976-06-10', '2012-06-02')).toBe('apart');
  });

  it('reads as two people’s only dates that differ in the year and in the day or month, beyond one slip, neither 1 January', () => {
    const apart = (a: string, b: string) => {
      const [x, y] = [a, b].map((d) => d.split('-').map(Number) as [number, number, number]);
      return birthDatesApart(...x!, ...y!);
    };
    expect(apart('1976-06-10', '2012-06-02')).toBe(true); // father and son
    expect(apart('1985-03-12', '1972-07-30')).toBe(true);
    expect(apart('1985-03-12', '1985-07-30')).toBe(false); // the year agrees: a day and month wrong
    expect(apart('1985-03-12', '1986-07-30')).toBe(false); // a year slip and another part
    expect(apart('1985-03-12', '1962-03-12')).toBe(false); // only the year wrong
    expect(apart('1985-03-12', '1985-03-21')).toBe(false); // one slip
    expect(apart('1985-03-12', '1980-01-01')).toBe(false); // an estimate: 1 January of a guessed year
    expect(apart('1980-01-01', '1985-03-12')).toBe(false);
  });
});

describe('postcode comparison', () => {
  const pc = (a: string, b: string) => level('postcode', comparePostcode(f({ postcode: a }), f({ postcode: b })));

  it('ignores case and spacing', () => {
    expect(pc('eh1 1yz', 'EH11YZ')).toBe('exact');
  });

  it('grades sector, typo, district and area', () => {
    expect(pc('EH1 1YZ', 'EH1 1AB')).toBe('sector');
    expect(pc('EH1 1YZ', 'EH1 2YZ')).toBe('typo');
    expect(pc('EH1 1YZ', 'EH1 3AB')).toBe('district');
    expect(pc('EH1 1YZ', 'EH9 3AB')).toBe('area');
    expect(pc('EH1 1YZ', 'G12 8QQ')).toBe('different');
  });

  it('falls back to exact or typo for codes that are not UK postcodes', () => {
    expect(pc('3782', '3728')).toBe('typo');
    expect(pc('3782', '2100')).toBe('different');
  });
});

describe('other fields', () => {
  it('compares CHI numbers: equal, one keying error apart, different', () => {
    expect(level('chi', compareChi(f({ chi: '1203852711' }), f({ chi: '1203852711' })))).toBe('exact');
    expect(level('chi', compareChi(f({ chi: '1203852711' }), f({ chi: '1203852717' })))).toBe('near');
    expect(level('chi', compareChi(f({ chi: '1203852711' }), f({ chi: '0507014324' })))).toBe('different');
  });

  it('compares sex only when both are male or female', () => {
    expect(level('sex', compareSex(f({ gender: 'male' }), f({ gender: 'male' })))).toBe('same');
    expect(level('sex', compareSex(f({ gender: 'male' }), f({ gender: 'female' })))).toBe('different');
    expect(level('sex', compareSex(f({ gender: 'male' }), f({ gender: 'unknown' })))).toBe('missing');
  });

  it('compares address lines by house number and street', () => {
    const addr = (a: string, b: string) => level('address', compareAddress(f({ addressLine: a }), f({ addressLine: b })));
    expect(addr('14 Main St', '14 Main Street')).toBe('exact');
    expect(addr('14 Main Street', '14 Mian Street')).toBe('number-street');
    expect(addr('14 Main Street', '41 Main Street')).toBe('street');
    expect(addr('14 Main Street', '14 High Road')).toBe('number');
    expect(addr('14 Main Street', '3 High Road')).toBe('different');
  });

  it('compares towns and phone numbers', () => {
    expect(level('town', compareTown(f({ town: 'Kirkcaldy' }), f({ town: 'Kirkaldy' })))).toBe('similar');
    expect(level('phone', comparePhone(f({ phone: '0131 496 0000' }), f({ phone: '+44 131 4960000' })))).toBe('exact');
  });
});

describe('residence comparison (the home scored once)', () => {
  const home = { postcode: 'EH6 8QZ', addressLine: 'Flat 2F1, 14 Easter Road', town: 'Edinburgh', phone: '0131 496 0123' };
  const res = (a: Partial<DemographicRecord>, b: Partial<DemographicRecord>) => level('residence', compareResidence(f(a), f(b)));

  it('gives one level for postcode, address, town and phone agreeing together: the same address', () => {
    expect(res(home, home)).toBe('address');
    expect(res(home, { ...home, phone: undefined, town: undefined })).toBe('address');
    // A mistyped postcode does not make the same street address another place.
    expect(res(home, { ...home, postcode: 'EH6 8QX' })).toBe('address');
  });

  it('grades by the finest place in common: near address, phone, postcode unit, neighbour, sector, district, area', () => {
    expect(res(home, { postcode: home.postcode, addressLine: 'Flat 2F1, 14 Eastr Road' })).toBe('near-address');
    expect(res(home, { phone: home.phone, postcode: 'KY1 1XX', addressLine: '8 High Street' })).toBe('phone');
    expect(res(home, { postcode: home.postcode })).toBe('postcode');
    expect(res(home, { postcode: home.postcode, addressLine: '3 Other Road' })).toBe('neighbour');
    expect(res(home, { postcode: 'EH6 8AB', addressLine: '3 Other Road' })).toBe('sector');
    expect(res(home, { postcode: 'EH6 5DT' })).toBe('district');
    expect(res(home, { postcode: 'EH11 2AB' })).toBe('area');
    expect(res(home, { postcode: 'KY1 1XX', addressLine: '14 Easter Road' })).toBe('different');
  });

  it('falls back on the town without a postcode, and is missing when the records share no kind of place', () => {
    expect(res({ town: 'Edinburgh', addressLine: '14 Easter Road' }, { town: 'Edinburgh', addressLine: '14 Easter Road' })).toBe('address');
    expect(res({ town: 'Edinburgh' }, { town: 'Edinburgh', postcode: 'EH6 8QZ' })).toBe('district');
    expect(res({ town: 'Edinburgh' }, { town: 'Kirkwall' })).toBe('different');
    expect(res({ postcode: 'EH6 8QZ' }, { phone: '0131 496 0123' })).toBe('missing');
  });
});

describe('compareAll', () => {
  it('fills every field and compares swapped forename and family name crosswise', () => {
    const out = new Int8Array(FIELD_COUNT);
    const swapped = compareAll(
      f({ given: ['Fraser'], family: 'Campbell', birthDate: '1990-01-02' }),
      f({ given: ['Campbell'], family: 'Frazer', birthDate: '1990-01-02' }),
      out,
    );
    expect(swapped).toBe(true);
    // Fraser (a's forename) against Frazer (b's family name); Campbell against Campbell.
    expect(level('given', out[fieldIndex('given')]!)).toBe('similar');
    expect(level('family', out[fieldIndex('family')]!)).toBe('exact');
    expect(level('birthDate', out[fieldIndex('birthDate')]!)).toBe('exact');
    expect(FIELD_NAMES).toHaveLength(FIELD_COUNT);
  });

  it('derives the residence level from the postcode, address, town and phone levels it compared', () => {
    const out = new Int8Array(FIELD_COUNT);
    const a = f({ postcode: 'EH6 8QZ', addressLine: '14 Easter Road', phone: '0131 496 0123' });
    const b = f({ postcode: 'EH6 8QZ', addressLine: '14 Easter Rd' });
    compareAll(a, b, out);
    expect(out[fieldIndex('residence')]).toBe(compareResidence(a, b));
    expect(level('residence', out[fieldIndex('residence')]!)).toBe('address');
  });

  it('gives every field the level its own comparator gives (a field added to FIELD_LEVELS must be compared here too)', () => {
    const out = new Int8Array(FIELD_COUNT);
    const pairs = [
      [f({ given: ['Jan'], family: 'Kowalski', birthDate: '1980-03-04', gender: 'male', postcode: 'EH6 8QZ', addressLine: '2/1 14 Easter Road', town: 'Edinburgh', phone: '0131 496 0123', chi: '0403801235' }),
        f({ given: ['John'], family: 'Kowalsky', birthDate: '1980-04-03', gender: 'male', postcode: 'EH6 8QA', addressLine: '14 Easter Rd', town: 'Edinburgh', phone: '0131 496 0999' })],
      [f({ given: ['Mary', 'Ann'], family: 'Smith-Jones', birthDate: '1975', gender: 'female', postcode: 'G1 1AA' }),
        f({ given: ['M'], family: 'Smith', birthDate: '1975-06-01', gender: 'male', postcode: 'G1 2BB', town: 'Glasgow' })],
      [f({ given: ['Ross'] }), f({ family: 'Ross', addressLine: 'Main Street' })],
    ] as const;
    for (const [a, b] of pairs) {
      expect(compareAll(a, b, out)).toBe(false);
      expect(FIELD_NAMES.map((name) => out[fieldIndex(name)])).toEqual(FIELD_NAMES.map((name) => COMPARATORS[name](a, b)));
    }
  });

  it('does not swap names that agree as given', () => {
    const out = new Int8Array(FIELD_COUNT);
    expect(compareAll(f({ given: ['Ross'], family: 'Ross' }), f({ given: ['Ross'], family: 'Ross' }), out)).toBe(false);
  });
});
