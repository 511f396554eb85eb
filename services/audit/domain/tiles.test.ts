/**
 * Tiled storage of the tree: the right edge kept in memory gives the RFC 9162
 * root at every size, across tile boundaries and levels; it is rebuilt from the
 * stored slices; entry bundles read back, and a cut one is noticed.
 */
import { leafHash, rootOf } from './merkle.js';
import { Frontier, sliceOfPerfect, sortableStreamId, TILE_WIDTH, type HashAppend } from './tiles.js';

const leaves = (n: number, from = 0) => Array.from({ length: n }, (_, i) => leafHash(Buffer.from(`leaf ${from + i}`)));

describe('the frontier', () => {
  it('gives the root of the whole tree at every size around tile boundaries', () => {
    const all = leaves(TILE_WIDTH * 3 + 5);
    const frontier = Frontier.empty();
    for (let n = 0; n < all.length; n++) {
      if (n % 37 === 0 || n % TILE_WIDTH <= 1 || n % TILE_WIDTH === TILE_WIDTH - 1) expect(frontier.root().equals(rootOf(all.slice(0, n)))).toBe(true);
      frontier.push([all[n]!]);
    }
  });

  it('reaches level 2 (65,536 leaves) and still gives the root', () => {
    const all = leaves(TILE_WIDTH * TILE_WIDTH + 300);
    const frontier = Frontier.empty();
    frontier.push(all);
    expect(frontier.root().equals(rootOf(all))).toBe(true);
  });

  it('says which hashes to append where, and is rebuilt from the stored slices', () => {
    const all = leaves(700);
    const frontier = Frontier.empty();
    const tiles = new Map<string, Buffer[]>();
    const store = (appends: HashAppend[]) => appends.forEach((a) => tiles.set(`${a.level}/${a.tile}`, [...(tiles.get(`${a.level}/${a.tile}`) ?? []), ...a.hashes]));
    store(frontier.push(all.slice(0, 300)));
    store(frontier.push(all.slice(300)));
    expect(tiles.get('0/0')).toHaveLength(TILE_WIDTH);
    expect(tiles.get('0/2')).toHaveLength(700 - 2 * TILE_WIDTH);
    expect(tiles.get('1/0')).toHaveLength(2);
    expect(tiles.get('1/0')![1]!.equals(rootOf(all.slice(TILE_WIDTH, 2 * TILE_WIDTH)))).toBe(true);
    const slices = Frontier.slicesFor(700).map((s) => (tiles.get(`${s.level}/${s.tile}`) ?? []).slice(s.offset, s.offset + s.count));
    expect(Frontier.fromSlices(700, slices).root().equals(rootOf(all))).toBe(true);
  });

  it('finds a perfect subtree in one tile of the right level', () => {
    expect(sliceOfPerfect({ start: 512, end: 640 })).toEqual({ level: 0, tile: 2, offset: 0, count: 128 });
    expect(sliceOfPerfect({ start: 1024, end: 2048 })).toEqual({ level: 1, tile: 0, offset: 4, count: 4 });
    expect(() => sliceOfPerfect({ start: 3, end: 7 })).toThrow();
  });
});

describe('stream ids', () => {
  it('sort as Redis orders them', () => {
    expect(sortableStreamId('99-5') < sortableStreamId('100-0')).toBe(true);
    expect(sortableStreamId('100-5') < sortableStreamId('100-10')).toBe(true);
    expect(() => sortableStreamId('abc')).toThrow();
  });
});
