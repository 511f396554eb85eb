/**
 * How the log's tree is cut into tiles for storage (the C2SP tlog-tiles idea):
 * 256 hashes per tile, at every level. Level 0 holds the leaf hashes; a level L
 * node is the root of a perfect subtree of 256^L leaves, written once that
 * subtree is complete. Any perfect subtree a proof needs is then a handful of
 * hashes (at most 128) of one tile at one level — a proof costs a few small
 * reads, never a walk over the leaves.
 *
 * `Frontier` is the right edge of the tree in memory — the incomplete tile of
 * every level — which is all an appender needs to extend the tree and compute
 * its root. The entries are the audit stream's; a level-0 tile's stream ids
 * are kept beside its leaf hashes (store.ts).
 *
 * Pure: no I/O.
 */
import { HASH_BYTES, perfectSubtrees, rangeHashFromPerfect, rootOfHashes, type Range } from './merkle.js';

export const TILE_BITS = 8;
export const TILE_WIDTH = 2 ** TILE_BITS;

/** Where the hashes making up one perfect subtree are: `count` consecutive hashes of one tile of one level. */
export interface TileSlice {
  readonly level: number;
  readonly tile: number;
  /** Position of the first hash within the tile. */
  readonly offset: number;
  readonly count: number;
}

/** The tile slice holding a perfect subtree (size a power of two, start a multiple of it). */
export function sliceOfPerfect(range: Range): TileSlice {
  const size = range.end - range.start;
  const height = Math.round(Math.log2(size));
  if (2 ** height !== size || range.start % size !== 0) throw new RangeError(`[${range.start}, ${range.end}) is not a perfect subtree`);
  const level = Math.floor(height / TILE_BITS);
  const nodeSpan = TILE_WIDTH ** level;
  const first = range.start / nodeSpan;
  return { level, tile: Math.floor(first / TILE_WIDTH), offset: first % TILE_WIDTH, count: size / nodeSpan };
}

/** The hash of one perfect subtree from the hashes of its tile slice. */
export function perfectHashOfSlice(hashes: readonly Uint8Array[]): Buffer {
  return rootOfHashes(hashes);
}

/** One write of an append: hashes to add at the end of a tile. */
export interface HashAppend {
  readonly level: number;
  readonly tile: number;
  readonly hashes: Buffer[];
}

/** The incomplete tile of each level: the right edge of the tree. */
export class Frontier {
  private constructor(
    private treeSize: number,
    /** partials[L]: the hashes of level L's last, incomplete tile. */
    private readonly partials: Buffer[][],
  ) {}

  static empty(): Frontier {
    return new Frontier(0, [[]]);
  }

  /** The slices a store must read to rebuild the frontier of a tree of `size` leaves. */
  static slicesFor(size: number): TileSlice[] {
    const slices: TileSlice[] = [];
    for (let level = 0, span = 1; span <= size; level++, span *= TILE_WIDTH) {
      const nodes = Math.floor(size / span);
      slices.push({ level, tile: Math.floor(nodes / TILE_WIDTH), offset: 0, count: nodes % TILE_WIDTH });
    }
    return slices;
  }

  /** The frontier of a tree of `size` leaves from the slices `slicesFor(size)` named, read in that order. */
  static fromSlices(size: number, slices: readonly Buffer[][]): Frontier {
    const expected = Frontier.slicesFor(size);
    if (slices.length !== expected.length || slices.some((s, i) => s.length !== expected[i]!.count)) {
      throw new Error(`the stored hash tiles do not hold the right edge of a tree of ${size} leaves`);
    }
    return new Frontier(size, slices.length > 0 ? slices.map((s) => [...s]) : [[]]);
  }

  get size(): number {
    return this.treeSize;
  }

  clone(): Frontier {
    return new Frontier(this.treeSize, this.partials.map((p) => [...p]));
  }

  /** Adds leaves; returns the hashes to append to which tiles (grouped per tile, in order). */
  push(leafHashes: readonly Buffer[]): HashAppend[] {
    const appends = new Map<string, HashAppend>();
    const record = (level: number, nodeIndex: number, hash: Buffer) => {
      const tile = Math.floor(nodeIndex / TILE_WIDTH);
      const key = `${level}:${tile}`;
      let append = appends.get(key);
      if (!append) {
        append = { level, tile, hashes: [] };
        appends.set(key, append);
      }
      append.hashes.push(hash);
    };
    for (const leaf of leafHashes) {
      let hash = leaf;
      let nodeIndex = this.treeSize;
      this.treeSize++;
      for (let level = 0; ; level++) {
        const partial = (this.partials[level] ??= []);
        partial.push(hash);
        record(level, nodeIndex, hash);
        if (partial.length < TILE_WIDTH) break;
        // A tile completed: its root is the next node one level up.
        hash = rootOfHashes(partial);
        this.partials[level] = [];
        nodeIndex = Math.floor(nodeIndex / TILE_WIDTH);
      }
    }
    return [...appends.values()];
  }

  /** MTH of the whole tree: its perfect subtrees all lie in the incomplete tiles. */
  root(): Buffer {
    const perfect = perfectSubtrees({ start: 0, end: this.treeSize }).map((range) => {
      const slice = sliceOfPerfect(range);
      const partial = this.partials[slice.level] ?? [];
      return perfectHashOfSlice(partial.slice(slice.offset, slice.offset + slice.count));
    });
    return rangeHashFromPerfect(perfect);
  }
}

/** Packs hashes into tile bytes. */
export function packHashes(hashes: readonly Uint8Array[]): Buffer {
  return Buffer.concat(hashes, hashes.length * HASH_BYTES);
}

/** Splits tile bytes into hashes (views, not copies). */
export function unpackHashes(bytes: Buffer): Buffer[] {
  const hashes: Buffer[] = [];
  for (let at = 0; at + HASH_BYTES <= bytes.length; at += HASH_BYTES) hashes.push(bytes.subarray(at, at + HASH_BYTES));
  return hashes;
}

/** A stream id as a key that sorts like the id (`<ms>-<seq>`, both zero-padded). */
export function sortableStreamId(id: string): string {
  const m = /^(\d{1,15})-(\d{1,19})$/.exec(id);
  if (!m) throw new RangeError(`"${id}" is not an audit stream id (<milliseconds>-<sequence>)`);
  return `${m[1]!.padStart(15, '0')}-${m[2]!.padStart(19, '0')}`;
}

export function isStreamId(id: string): boolean {
  return /^\d{1,15}-\d{1,19}$/.test(id);
}

/** Whether stream id a comes after b. */
export function streamIdAfter(a: string, b: string): boolean {
  return sortableStreamId(a) > sortableStreamId(b);
}
