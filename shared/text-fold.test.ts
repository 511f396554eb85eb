import { foldLetters } from './text-fold.js';

describe('foldLetters', () => {
  it('meets the plain Latin spelling another system stored for a name with accents', () => {
    expect(foldLetters('Zoë Ní Bhriain')).toBe('zoe ni bhriain');
    expect(foldLetters('Seán Ó Dónaill')).toBe('sean o donaill');
  });

  it('maps the letters Unicode does not decompose instead of losing them (Polish ł, Nordic ø, German ß)', () => {
    expect(foldLetters('Małgorzata Krawczyk')).toBe('malgorzata krawczyk');
    expect(foldLetters('ŁUKASZ')).toBe('lukasz');
    expect(foldLetters('Søren Bjørn')).toBe('soren bjorn');
    expect(foldLetters('Straße')).toBe('strasse');
    expect(foldLetters('Æthelred')).toBe('aethelred');
  });

  it('leaves plain ASCII as its lower case', () => {
    expect(foldLetters("O'Neill-McDonald 2")).toBe("o'neill-mcdonald 2");
  });
});
