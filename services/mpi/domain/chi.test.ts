import { chiBirthDateParts, chiConsistentWith, isValidChi, mod10CheckDigit, mod11CheckDigit, validateChi } from './chi.js';

const today = new Date('2026-11-25T12:00:00Z');

describe('validateChi', () => {
  it('accepts a CHI whose modulus-11 check digit is right and reads its birth date and sex', () => {
    expect(validateChi('1203852711', { today })).toEqual({
      valid: true,
      chi: '1203852711',
      scheme: 'mod11',
      birthDate: '1985-03-12',
      birthDateCandidates: ['1985-03-12'],
      sex: 'male',
    });
  });

  it('reads an even ninth digit as female', () => {
    const result = validateChi('0507014324', { today });
    expect(result).toMatchObject({ valid: true, scheme: 'mod11', sex: 'female', birthDate: '2001-07-05' });
  });

  it('offers both centuries when both are in the past, the more recent first', () => {
    const result = validateChi('0507014324', { today });
    expect(result.valid && result.birthDateCandidates).toEqual(['2001-07-05', '1901-07-05']);
  });

  it('reads a year that would be in the future as the 1900s', () => {
    expect(validateChi('0101501234', { today })).toMatchObject({ valid: true, birthDate: '1950-01-01' });
  });

  it('accepts a CHI issued from February 2026 under the modulus-10 scheme and records the scheme', () => {
    expect(validateChi('1504260025', { today })).toMatchObject({
      valid: true,
      scheme: 'mod10',
      birthDate: '2026-04-15',
      sex: 'female',
    });
  });

  it('accepts a modulus-10 CHI whose first nine digits have no modulus-11 check digit', () => {
    expect(validateChi('1504260520', { today })).toMatchObject({ valid: true, scheme: 'mod10' });
  });

  it('rejects digits whose modulus-11 check digit would be 10 when the modulus-10 digit does not fit either', () => {
    const result = validateChi('1212121210', { today });
    expect(result.valid).toBe(false);
    expect(!result.valid && result.reason).toMatch(/would be 10/);
  });

  it('rejects an impossible date such as 31 February', () => {
    const result = validateChi('3102991234', { today });
    expect(result.valid).toBe(false);
    expect(!result.valid && result.reason).toMatch(/310299 is not a real date/);
  });

  it('rejects month 13 and day 00', () => {
    expect(validateChi('0113851234', { today }).valid).toBe(false);
    expect(validateChi('0003851234', { today }).valid).toBe(false);
  });

  it('accepts 29 February 00 because 2000 was a leap year, but not 29 February 01', () => {
    expect(validateChi('2902001231', { today })).toMatchObject({
      valid: true,
      birthDate: '2000-02-29',
      birthDateCandidates: ['2000-02-29'],
    });
    expect(validateChi('2902011231', { today }).valid).toBe(false);
  });

  it('rejects a wrong check digit and says what it should be', () => {
    const result = validateChi('1203852712', { today });
    expect(result.valid).toBe(false);
    expect(!result.valid && result.reason).toMatch(/bad check digit: the last digit is 2, but its modulus-11 check digit should be 1/);
  });

  it('rejects the wrong length, letters and non-strings with a reason', () => {
    expect(validateChi('120385271', { today })).toEqual({ valid: false, reason: 'a CHI number has 10 digits, got 9' });
    expect(validateChi('12038527111', { today })).toMatchObject({ valid: false, reason: expect.stringMatching(/got 11/) });
    expect(validateChi('12O3852711', { today })).toMatchObject({ valid: false, reason: expect.stringMatching(/digits only/) });
    expect(validateChi(1203852711, { today })).toMatchObject({ valid: false, reason: expect.stringMatching(/string/) });
    expect(validateChi('', { today }).valid).toBe(false);
  });

  it('ignores the spaces people write in a CHI number', () => {
    expect(validateChi('120385 2711', { today })).toMatchObject({ valid: true, chi: '1203852711' });
  });
});

describe('isValidChi', () => {
  it('says what validateChi says of every value, whatever the day it is read on', () => {
    const values = ['1203852711', '0507014324', '1504260025', '0101501234', '2902001234', '2902011234', '3102851234', '0013851234', '1213851234', '1203852712', '120385 2711', '120385-2711', '12038527', '12038527111', 'abcdefghij', '12O3852711', ''];
    // Every nine-digit stem of a few dates with every last digit, and every day/month pair of one year with a fitting check digit.
    for (const stem of ['120385271', '150426002', '290200123', '310285123']) for (let d = 0; d <= 9; d++) values.push(`${stem}${d}`);
    for (let day = 0; day <= 32; day++) {
      for (let month = 0; month <= 13; month++) {
        const nine = `${String(day).padStart(2, '0')}${String(month).padStart(2, '0')}00123`;
        values.push(`${nine}${mod11CheckDigit(nine) % 10}`, `${nine}${mod10CheckDigit(nine)}`);
      }
    }
    for (const value of values) {
      expect([value, isValidChi(value)]).toEqual([value, validateChi(value).valid]);
      expect([value, isValidChi(value)]).toEqual([value, validateChi(value, { today: new Date('1990-01-01T00:00:00Z') }).valid]);
    }
  });
});

describe('check digit functions', () => {
  it('follow the published schemes for known values', () => {
    expect(mod11CheckDigit('120385271')).toBe(1);
    expect(mod11CheckDigit('121212121')).toBe(10);
    expect(mod11CheckDigit('150426012')).toBe(0); // 11 → 0
    expect(mod10CheckDigit('150426002')).toBe(5);
    expect(mod10CheckDigit('150426052')).toBe(0);
  });
});

describe('chiConsistentWith', () => {
  it('finds no conflict when the record agrees with the CHI', () => {
    expect(chiConsistentWith('1203852711', '1985-03-12', 'male', { today })).toEqual({ consistent: true, conflicts: [] });
  });

  it('flags a birth date that disagrees with the CHI', () => {
    const result = chiConsistentWith('1203852711', '1985-12-03', 'male', { today });
    expect(result.consistent).toBe(false);
    expect(result.conflicts).toHaveLength(1);
    expect(result.conflicts[0]).toMatch(/birth date/);
  });

  it('flags a gender that disagrees with the sex digit', () => {
    const result = chiConsistentWith('1203852711', '1985-03-12', 'female', { today });
    expect(result).toEqual({ consistent: false, conflicts: [expect.stringMatching(/sex digit says male/)] });
  });

  it('treats unknown gender and missing birth date as no evidence either way', () => {
    expect(chiConsistentWith('1203852711', undefined, 'unknown', { today }).consistent).toBe(true);
    expect(chiConsistentWith('1203852711', undefined, 'other', { today }).consistent).toBe(true);
  });

  it('compares partial birth dates on the parts present', () => {
    expect(chiConsistentWith('1203852711', '1985-03', undefined, { today }).consistent).toBe(true);
    expect(chiConsistentWith('1203852711', '1985', undefined, { today }).consistent).toBe(true);
    expect(chiConsistentWith('1203852711', '1986', undefined, { today }).consistent).toBe(false);
  });

  it('reports an invalid CHI as inconsistent', () => {
    expect(chiConsistentWith('1203852712', '1985-03-12', 'male', { today }).consistent).toBe(false);
  });
});

describe('chiBirthDateParts', () => {
  it('reads the day, month and two-digit year a CHI carries', () => {
    expect(chiBirthDateParts('1508550212')).toEqual({ day: 15, month: 8, yy: 55 });
    expect(chiBirthDateParts('0102030405')).toEqual({ day: 1, month: 2, yy: 3 });
  });

  it('reads nothing from a value that is not ten digits', () => {
    expect(chiBirthDateParts('5304218')).toBeUndefined();
    expect(chiBirthDateParts('15085502x2')).toBeUndefined();
  });
});
