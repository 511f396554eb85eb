import { familyParts, nameWords, nicknameGroups, normaliseFamily, normaliseName, sameByNameLookup, sameByNickname } from './names.js';

describe('normaliseFamily', () => {
  it('makes Mc, Mac, M\' and "Mac " one form', () => {
    for (const spelling of ['McDonald', 'MacDonald', "M'Donald", 'Mac Donald', 'Mc Donald', 'MCDONALD']) {
      expect(normaliseFamily(spelling)).toBe('macdonald');
    }
  });

  it('leaves names that merely start with "mac" alone', () => {
    expect(normaliseFamily('Mack')).toBe('mack');
    expect(normaliseFamily('Machin')).toBe('machin');
  });

  it('drops apostrophes, hyphens and accents', () => {
    expect(normaliseFamily("O'Neill")).toBe('oneill');
    expect(normaliseFamily('Smith-Jones')).toBe('smithjones');
    expect(normaliseFamily('Müller')).toBe('muller');
  });
});

describe('familyParts', () => {
  it('splits double-barrelled names but not a Mac prefix', () => {
    expect(familyParts('Smith-Jones')).toEqual(['smith', 'jones']);
    expect(familyParts('Mac Donald')).toEqual(['macdonald']);
    expect(familyParts('Mc Donald-Smith')).toEqual(['macdonald', 'smith']);
  });
});

describe('forename normalisation', () => {
  it('splits forenames into words and strips accents', () => {
    expect(nameWords('Mary-Anne  Seònaid')).toEqual(['mary', 'anne', 'seonaid']);
    expect(normaliseName('Eòghann')).toBe('eoghann');
  });

  it("writes a letter with no accent to strip the Latin way, so a system that could not hold it still matches (Małgorzata, Søren)", () => {
    expect(nameWords('Małgorzata')).toEqual(nameWords('Malgorzata'));
    expect(normaliseName('Søren')).toBe(normaliseName('Soren'));
    expect(normaliseFamily('Wałęsa')).toBe('walesa');
  });
});

describe('nickname table', () => {
  it.each([
    ['rab', 'robert'],
    ['bob', 'robert'],
    ['rob', 'rab'],
    ['senga', 'agnes'],
    ['sandy', 'alexander'],
    ['sandy', 'sandra'],
    ['eck', 'alexander'],
    ['alex', 'alexander'],
    ['jim', 'james'],
    ['jimmy', 'jamie'],
    ['hamish', 'james'],
    ['ally', 'alistair'],
    ['alasdair', 'alastair'],
    ['ian', 'iain'],
    ['kirsty', 'christine'],
    ['morag', 'sarah'],
    ['jock', 'john'],
    ['jean', 'jane'],
    ['maggie', 'margaret'],
    ['peggy', 'margaret'],
    ['rita', 'margaret'],
    ['liz', 'elizabeth'],
    ['betty', 'beth'],
    ['bill', 'william'],
    ['wullie', 'willie'],
    ['tam', 'thomas'],
    ['tommy', 'thomas'],
    ['davie', 'david'],
  ])('treats %s and %s as the same forename', (a, b) => {
    expect(sameByNickname(a, b)).toBe(true);
  });

  it('does not join names from different groups', () => {
    expect(sameByNickname('robert', 'james')).toBe(false);
    expect(sameByNickname('morag', 'shona')).toBe(false);
    expect(sameByNickname('alistair', 'alexander')).toBe(false);
    expect(sameByNickname('unknownname', 'unknownname')).toBe(false);
  });

  it('gives every group a name belongs to, canonical first name of each', () => {
    expect(nicknameGroups('sandy')).toEqual(['alexander', 'alexandra']);
    expect(nicknameGroups('zebedee')).toEqual([]);
  });

  it('lists shona as its own name', () => {
    expect(nicknameGroups('shona')).toEqual(['shona']);
  });
});

describe('sourced lookup of English given names and their nicknames and diminutives', () => {
  it.each([
    ['effie', 'euphemia'],
    ['lottie', 'charlotte'],
    ['nell', 'ellen'],
    ['izzy', 'isidore'],
    ['gabby', 'gabriel'],
    ['sammy', 'samantha'],
    ['amy', 'amelia'],
    ['freddie', 'frederick'],
  ])('pairs %s with %s, either way round', (a, b) => {
    expect(sameByNameLookup(a, b)).toBe(true);
    expect(sameByNameLookup(b, a)).toBe(true);
  });

  it('pairs a name only with the first name of a row it is on, not with the other names a nickname may stand for', () => {
    // The row "bill: william, billy, robert, willie, fred" says Bill may be William or Robert, not that they are one name.
    expect(sameByNameLookup('bill', 'robert')).toBe(true);
    expect(sameByNameLookup('bill', 'william')).toBe(true);
    expect(sameByNameLookup('william', 'robert')).toBe(false);
    expect(sameByNameLookup('euphemia', 'euphemia')).toBe(false);
    expect(sameByNameLookup('unknownname', 'euphemia')).toBe(false);
  });

  it('leaves out entries that cannot be a normalised forename ("k.c.")', () => {
    expect(sameByNameLookup('casey', 'kc')).toBe(false);
    expect(sameByNameLookup('casey', 'k.c.')).toBe(false);
  });
});
