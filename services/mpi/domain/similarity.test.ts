import { editDistance, jaro, jaroWinkler } from './similarity.js';

describe('jaro and jaroWinkler', () => {
  it('give 1 for equal strings and 0 when nothing matches or a side is empty', () => {
    expect(jaroWinkler('morag', 'morag')).toBe(1);
    expect(jaroWinkler('abc', 'xyz')).toBe(0);
    expect(jaroWinkler('', 'abc')).toBe(0);
  });

  it('reproduce the textbook values (MARTHA/MARHTA, DIXON/DICKSONX)', () => {
    expect(jaro('martha', 'marhta')).toBeCloseTo(0.9444, 4);
    expect(jaroWinkler('martha', 'marhta')).toBeCloseTo(0.9611, 4);
    expect(jaroWinkler('dixon', 'dicksonx')).toBeCloseTo(0.8133, 4);
  });

  it('score a one-letter typo in a name above a different name', () => {
    expect(jaroWinkler('campbell', 'campbel')).toBeGreaterThan(0.95);
    expect(jaroWinkler('campbell', 'cameron')).toBeLessThan(0.8);
  });

  it('are symmetric and handle strings longer than the internal buffers', () => {
    const long = 'a'.repeat(100) + 'b';
    const other = 'a'.repeat(100) + 'c';
    expect(jaroWinkler(long, other)).toBeCloseTo(jaroWinkler(other, long), 10);
    expect(jaroWinkler('shona', 'sheena')).toBeCloseTo(jaroWinkler('sheena', 'shona'), 10);
  });
});

describe('editDistance', () => {
  it('counts insertions, deletions and substitutions', () => {
    expect(editDistance('kitten', 'sitting')).toBe(3);
    expect(editDistance('', 'abc')).toBe(3);
    expect(editDistance('abc', 'abc')).toBe(0);
  });

  it('counts two swapped adjacent characters as one error', () => {
    expect(editDistance('1203852711', '1230852711')).toBe(1);
    expect(editDistance('EH11YZ', 'EH1Y1Z')).toBe(1);
  });

  it('works on strings longer than its buffers', () => {
    expect(editDistance('x'.repeat(80), 'x'.repeat(79) + 'y')).toBe(1);
  });
});
