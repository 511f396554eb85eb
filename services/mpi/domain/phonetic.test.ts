import { nysiis } from './phonetic.js';

describe('nysiis', () => {
  it('gives Mac and Mc spellings one code', () => {
    expect(nysiis('macdonald')).toBe(nysiis('mcdonald'));
    expect(nysiis('mackenzie')).toBe(nysiis('mckenzie'));
  });

  it('codes K/C, Kn/N and Ph/F starts alike', () => {
    expect(nysiis('katherine')).toBe(nysiis('catherine'));
    expect(nysiis('knight')).toBe(nysiis('night'));
    expect(nysiis('philip')).toBe(nysiis('filip'));
  });

  it('codes common spelling variants alike', () => {
    expect(nysiis('stewart')).toBe(nysiis('stuart'));
    expect(nysiis('johnston')).toBe(nysiis('johnstone'));
    expect(nysiis('brown')).toBe(nysiis('browne'));
  });

  it('keeps different names apart', () => {
    expect(nysiis('robert')).not.toBe(nysiis('rupert'));
    expect(nysiis('campbell')).not.toBe(nysiis('cameron'));
  });

  it('ignores case and non-letters, truncates to six characters, and gives "" for no letters', () => {
    expect(nysiis("O'Neill")).toBe(nysiis('oneill'));
    expect(nysiis('Campbell')).toBe('CANPBA');
    expect(nysiis('Macdonald').length).toBeLessThanOrEqual(6);
    expect(nysiis('123')).toBe('');
  });
});
