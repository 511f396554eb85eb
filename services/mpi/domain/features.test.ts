import { featuresFromJson, normalisePhone, parseBirthDate, splitAddress, toFeatures } from './features.js';

describe('featuresFromJson', () => {
  it('reads stored features back with the properties toFeatures gives, in its order, and the same JSON', () => {
    const records = [
      toFeatures({ id: 'a', agency: 'org-nhs', chi: '1203852711', given: ['Rab', 'James'], family: 'Smith-Jones', birthDate: '1985-03-12', gender: 'male', postcode: 'EH1 1YZ', addressLine: 'Flat 2/1, 14 Main St', town: 'Leith', phone: '0131 496 0000' }),
      toFeatures({ id: 'b', given: [] }),
      toFeatures({ id: 'c', given: ['Morag'], birthDate: '1984', postcode: 'not a postcode' }),
      toFeatures({ id: 'd', chi: '123', given: ['Bob'], family: 'MacDonald', gender: 'female' }),
    ];
    for (const f of records) {
      const json = JSON.stringify(f);
      const read = featuresFromJson(json);
      expect(Object.keys(read)).toEqual(Object.keys(f));
      expect(read).toStrictEqual(f);
      expect(JSON.stringify(read)).toBe(json);
    }
  });

  it('puts features stored in another key order in the one order (their values unchanged)', () => {
    const read = featuresFromJson('{"y":1980,"g":"ann","id":"x","pc":"EH11YZ","po":3}');
    expect(Object.keys(read)).toEqual(Object.keys(toFeatures({ id: 'y', given: [] })));
    expect(JSON.stringify(read)).toBe('{"id":"x","g":"ann","y":1980,"pc":"EH11YZ","po":3}');
  });
});

describe('toFeatures', () => {
  it('gives every record the same properties in the same order, whatever it holds; its JSON has only the values present', () => {
    const full = toFeatures({ id: 'a', agency: 'org-nhs', chi: '1203852711', given: ['Rab', 'James'], family: 'Smith-Jones', birthDate: '1985-03-12', gender: 'male', postcode: 'EH1 1YZ', addressLine: '14 Main St', town: 'Leith', phone: '0131 496 0000' });
    const bare = toFeatures({ id: 'b', given: [] });
    const some = toFeatures({ id: 'c', given: ['Morag'], birthDate: '1984', postcode: 'not a postcode' });
    expect(Object.keys(bare)).toEqual(Object.keys(full));
    expect(Object.keys(some)).toEqual(Object.keys(full));
    expect(JSON.parse(JSON.stringify(bare))).toStrictEqual({ id: 'b' });
    const present = Object.entries(some).filter(([, v]) => v !== undefined);
    expect(present.map(([k]) => k)).toEqual(expect.arrayContaining(['id', 'g', 'gp', 'y', 'pc', 'po']));
    expect(JSON.parse(JSON.stringify(some))).toStrictEqual(Object.fromEntries(present));
  });

  it('precomputes normalised names, codes, birth date parts, postcode and address', () => {
    const features = toFeatures({
      id: 'p1',
      agency: 'org-nhs',
      chi: '1203852711',
      given: ['Rab', 'James'],
      family: "M'Donald",
      birthDate: '1985-03-12',
      gender: 'male',
      postcode: 'eh1 1yz',
      addressLine: 'Flat 2/1, 14 Main St',
      town: 'Edinburgh',
      phone: '+44 (0)131 496 0000',
    });
    expect(features).toEqual({
      id: 'p1',
      ag: 'org-nhs',
      chi: '1203852711',
      g: 'rab',
      go: 'james',
      gp: 'RAB',
      gn: ['robert'],
      f: 'macdonald',
      fp: 'MCDANA',
      y: 1985,
      m: 3,
      d: 12,
      s: 'm',
      pc: 'EH11YZ',
      po: 3,
      hn: ['2/1', '14'],
      st: ['main', 'street'],
      tn: 'edinburgh',
      ph: '1314960000',
    });
  });

  it('marks an identifier that is not a valid CHI (a benchmark’s national id): its differences may be typing slips', () => {
    expect(toFeatures({ id: 'a', given: [], chi: '1203852711' }).cn).toBeUndefined();
    expect(toFeatures({ id: 'b', given: [], chi: '5304218' })).toEqual({ id: 'b', chi: '5304218', cn: true });
  });

  it('leaves out what the record does not have and keeps the JSON small', () => {
    const features = toFeatures({ id: 'x', given: [], gender: 'unknown' });
    expect(features).toEqual({ id: 'x' });
    const full = toFeatures({
      id: 'a-fairly-long-record-id-0123456789',
      agency: 'org-council-social-work',
      chi: '1203852711',
      given: ['Alexandra', 'Catriona'],
      family: 'Smith-MacPherson',
      birthDate: '1985-03-12',
      gender: 'female',
      postcode: 'KW15 1AB',
      addressLine: '27 Braeside Terrace',
      town: 'Kirkwall',
      phone: '07700 900123',
    });
    expect(JSON.stringify(full).length).toBeLessThan(400);
  });

  it('keeps double-barrelled family name parts', () => {
    expect(toFeatures({ id: 'x', given: ['Ann'], family: 'Smith-Jones' }).fs).toEqual(['smith', 'jones']);
  });
});

describe('parseBirthDate', () => {
  it('reads full and partial dates', () => {
    expect(parseBirthDate('1985-03-12')).toEqual({ y: 1985, m: 3, d: 12 });
    expect(parseBirthDate('1985-03')).toEqual({ y: 1985, m: 3 });
    expect(parseBirthDate('1985')).toEqual({ y: 1985 });
    expect(parseBirthDate('1985-03-12T10:00:00Z')).toEqual({ y: 1985, m: 3, d: 12 });
  });

  it('reads a system placeholder for an unknown birth date (01/01/1900, spreadsheet and database zero dates) as no date', () => {
    for (const placeholder of ['1900-01-01', '1899-12-31', '1899-12-30', '1800-01-01', '1753-01-01']) expect(parseBirthDate(placeholder)).toEqual({});
    expect(toFeatures({ id: 'x', given: ['Ann'], birthDate: '1900-01-01' }).y).toBeUndefined();
    // A real date of that year, or 1 January of another, is kept.
    expect(parseBirthDate('1900-01-02')).toEqual({ y: 1900, m: 1, d: 2 });
    expect(parseBirthDate('1950-01-01')).toEqual({ y: 1950, m: 1, d: 1 });
  });

  it('keeps only the plausible parts of a malformed date', () => {
    expect(parseBirthDate('1985-13-01')).toEqual({ y: 1985 });
    expect(parseBirthDate('1985-03-40')).toEqual({ y: 1985, m: 3 });
    expect(parseBirthDate('12/03/1985')).toEqual({});
    expect(parseBirthDate(undefined)).toEqual({});
  });
});

describe('splitAddress', () => {
  it('separates numbers from street words and expands abbreviations', () => {
    expect(splitAddress('14 Main St')).toEqual({ numbers: ['14'], street: ['main', 'street'] });
    expect(splitAddress('Flat 3, 27 Braeside Terr.')).toEqual({ numbers: ['3', '27'], street: ['braeside', 'terrace'] });
    expect(splitAddress('Rose Cottage')).toEqual({ numbers: [], street: ['rose', 'cottage'] });
  });

  it('keeps street words that are names of Object.prototype members as words', () => {
    expect(splitAddress('1 Constructor Road')).toEqual({ numbers: ['1'], street: ['constructor', 'road'] });
  });
});

describe('normalisePhone', () => {
  it('gives the same digits for national and international forms', () => {
    expect(normalisePhone('0131 496 0000')).toBe('1314960000');
    expect(normalisePhone('+44 131 496 0000')).toBe('1314960000');
    expect(normalisePhone('0044 131 496 0000')).toBe('1314960000');
    expect(normalisePhone('123')).toBeUndefined();
  });
});
