import { familyParts, nameWords, nicknameGroups, normaliseFamily, normaliseName, sameByNickname } from './names.js';

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
