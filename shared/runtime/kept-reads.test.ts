import { KeptReads } from './kept-reads.js';

describe('KeptReads', () => {
  it('shares one read among callers asking before it came back, and keeps it after', async () => {
    let reads = 0;
    const kept = new KeptReads<string, number>(10);
    const read = () => Promise.resolve(++reads);
    expect(await Promise.all([kept.get('a', read), kept.get('a', read), kept.get('a', read)])).toEqual([1, 1, 1]);
    expect(await kept.get('a', read)).toBe(1);
    expect(reads).toBe(1);
  });

  it('drops a read that failed or whose value it does not keep, so the next caller reads again', async () => {
    const kept = new KeptReads<string, number | undefined>(10, (v) => v !== undefined);
    await expect(kept.get('a', () => Promise.reject(new Error('down')))).rejects.toThrow('down');
    expect(await kept.get('a', () => Promise.resolve(undefined))).toBeUndefined();
    expect(await kept.get('a', () => Promise.resolve(2))).toBe(2);
    expect(await kept.get('a', () => Promise.resolve(3))).toBe(2);
  });

  it('drops the least recently asked past its limit, and everything on clear', async () => {
    const kept = new KeptReads<string, string>(2);
    await kept.get('a', async () => 'a1');
    await kept.get('b', async () => 'b1');
    await kept.get('a', async () => 'a2'); // asked again: now the most recent
    await kept.get('c', async () => 'c1'); // drops b
    expect(await kept.get('a', async () => 'a3')).toBe('a1');
    expect(await kept.get('b', async () => 'b2')).toBe('b2');
    kept.clear();
    expect(await kept.get('a', async () => 'a4')).toBe('a4');
  });
});
