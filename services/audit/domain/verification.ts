/**
 * Full verification of the log: re-derive every leaf hash from its entry — the
 * audit stream's entry, the bytes search and the evidence report read — the
 * root at every checkpoint size from those, and check every checkpoint — its
 * signature, its origin, and its root against the entries. Reports the size,
 * the root, and the first bad position.
 *
 * What "first bad position" can mean: an entry whose bytes no longer give the
 * stored leaf hash (altered, moved) is found exactly, and so is one the stream
 * no longer holds (deleted) or one it holds that the log never appended
 * (inserted): the stream's ids are checked against the log's. If whoever
 * tampered also rewrote the stored hashes, only the signed checkpoints remain
 * as witnesses: the first checkpoint whose root the entries no longer give
 * says the damage is after the last checkpoint that still matches, and that
 * position is reported — the first position no signature vouches for any more.
 *
 * Streaming: leaves are fed tile by tile in order, so a million entries need
 * only the right edge of the tree in memory. Pure: no I/O.
 */
import { claimedCheckpointSize, openCheckpoint, type NoteVerifier } from './checkpoint.js';
import { HASH_BYTES, nodeHash, pushSubtree, writeNodeHash, EMPTY_ROOT, type RightEdge } from './merkle.js';
import { streamIdAfter } from './tiles.js';

export interface VerificationReport {
  /** Entries read and re-hashed. */
  readonly size: number;
  /** The root of those entries (base64). */
  readonly root: string;
  /** The size the log's state claims. */
  readonly claimedSize: number;
  readonly checkpointsChecked: number;
  readonly ok: boolean;
  readonly firstBadPosition?: number;
  /** What is wrong, earliest first (at most a few dozen). */
  readonly problems: readonly string[];
}

const MAX_PROBLEMS = 50;

interface PendingCheckpoint {
  readonly size: number;
  readonly root: Buffer;
}

/** The first entry of a tile that does not match what is stored for it. */
export type TileMismatch =
  /** The entry at `offset` (stream id `id`) does not give its stored leaf hash. */
  | { readonly kind: 'entry'; readonly offset: number; readonly id: string }
  /** At `offset` the stream holds entry `found` (none: the stream ran out) where the log appended `expected`. */
  | { readonly kind: 'id'; readonly offset: number; readonly expected: string; readonly found?: string }
  /** The tile holds `entries` entries but `stored` leaf hashes; `offset` where they part. */
  | { readonly kind: 'count'; readonly offset: number; readonly entries: number; readonly stored: number };

/** What the stream's ids say of a tile: the log's ids of its positions, and the first position the stream's differs. */
export interface TileIds {
  /** The stream id the log appended at an offset of the tile (asked only to name a mismatch). */
  readonly expected: (offset: number) => string | undefined;
  /** The first offset whose stream entry has another id (or none: the stream ran out), if any. */
  readonly firstWrong?: { readonly offset: number; readonly found?: string };
}

/**
 * What one tile of the log adds to a verification, computed wherever its
 * entries were hashed (this thread or a worker thread: plain data). RFC 9162
 * subtrees at power-of-two boundaries combine exactly, so a tile that starts
 * at a multiple of 256 is, to the rest of the tree, its perfect subtrees.
 */
export interface TileSummary {
  /** Position of the tile's first entry (tile × 256). */
  readonly first: number;
  /** Entries read and hashed. */
  readonly count: number;
  /** Their leaf hashes, packed (32 bytes each): used when positions moved (an earlier tile was short). */
  readonly leaves: Buffer;
  /** The perfect subtrees of [first, first + count), largest first: one, the tile's root, when the tile is full. */
  readonly parts: readonly Buffer[];
  /** For each checkpoint size strictly inside the tile, the perfect subtrees of [first, size). */
  readonly cuts: ReadonlyArray<{ readonly size: number; readonly parts: readonly Buffer[] }>;
  /** Entries that do not match their stored leaf hash, plus one if the counts differ. */
  readonly mismatches: number;
  readonly firstMismatch?: TileMismatch;
}

/**
 * Sums up one tile: its entries' leaf hashes (`leaves`, packed) against the
 * stored ones (`stored`, packed as the log's tile keeps them), their stream ids
 * against the log's (`ids`), and the subtrees the rest of the tree needs — the
 * tile's own, and those up to every checkpoint size inside it
 * (`checkpointSizes` ascending, any range).
 *
 * Packed throughout, for speed (a million entries): one comparison for a whole
 * tile that matches, entry by entry only when it does not; the tile's subtree
 * built level by level into packed buffers, one hash per node and no object per hash.
 */
export function summariseTile(first: number, leaves: Buffer, stored: Uint8Array, ids: TileIds, checkpointSizes: readonly number[]): TileSummary {
  const count = Math.floor(leaves.length / HASH_BYTES);
  const storedCount = Math.floor(stored.length / HASH_BYTES);
  let mismatches = 0;
  const wrong = ids.firstWrong;
  // Where the stream's ids part from the log's, that says more (deleted, inserted) than the hash that follows from it.
  let firstMismatch: TileMismatch | undefined = wrong
    ? { kind: 'id', offset: wrong.offset, expected: ids.expected(wrong.offset) ?? '', ...(wrong.found !== undefined ? { found: wrong.found } : {}) }
    : undefined;
  if (count !== storedCount || !leaves.equals(stored.subarray(0, storedCount * HASH_BYTES))) {
    for (let i = 0; i < count; i++) {
      const at = i * HASH_BYTES;
      if (i < storedCount && leaves.compare(stored, at, at + HASH_BYTES, at, at + HASH_BYTES) === 0) continue;
      mismatches++;
      if (!firstMismatch || firstMismatch.offset > i) firstMismatch = { kind: 'entry', offset: i, id: ids.expected(i) ?? '' };
    }
  }
  if (storedCount !== count) {
    mismatches++;
    firstMismatch ??= { kind: 'count', offset: Math.min(count, storedCount), entries: count, stored: storedCount };
  }
  if (wrong && mismatches === 0) mismatches = 1;
  const levels = subtreeLevels(leaves, count);
  const cuts: { size: number; parts: Buffer[] }[] = [];
  for (let cut = lowerBound(checkpointSizes, first + 1); cut < checkpointSizes.length && checkpointSizes[cut]! < first + count; cut++) {
    const size = checkpointSizes[cut]!;
    cuts.push({ size, parts: perfectPrefix(levels, size - first) });
  }
  return { first, count, leaves, parts: perfectPrefix(levels, count), cuts, mismatches, ...(firstMismatch ? { firstMismatch } : {}) };
}

/**
 * The levels of a tile's subtree, packed: level 0 the leaves, level L the roots of
 * the aligned perfect subtrees of 2^L leaves (as many as fit in `count`).
 */
function subtreeLevels(leaves: Buffer, count: number): Buffer[] {
  const levels = [leaves];
  let below = leaves;
  for (let n = Math.floor(count / 2); n >= 1; n = Math.floor(n / 2)) {
    const level = Buffer.allocUnsafe(n * HASH_BYTES);
    for (let j = 0; j < n; j++) writeNodeHash(below, 2 * j * HASH_BYTES, level, j * HASH_BYTES);
    levels.push(level);
    below = level;
  }
  return levels;
}

/** The perfect subtrees of the tile's first `n` leaves, largest first, from its levels. */
function perfectPrefix(levels: readonly Buffer[], n: number): Buffer[] {
  const parts: Buffer[] = [];
  let offset = 0;
  for (let level = levels.length - 1; level >= 0; level--) {
    const size = 2 ** level;
    if ((n & size) === 0) continue;
    const node = offset / size;
    parts.push(levels[level]!.subarray(node * HASH_BYTES, (node + 1) * HASH_BYTES));
    offset += size;
  }
  return parts;
}

/** The first index of a sorted array whose value is at least `value`. */
function lowerBound(sorted: readonly number[], value: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid]! < value) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function mismatchProblem(mismatch: TileMismatch, first: number): string {
  const position = first + mismatch.offset;
  switch (mismatch.kind) {
    case 'entry':
      return `entry ${position} (stream entry ${mismatch.id}) does not give its stored leaf hash: altered or moved`;
    case 'id':
      return mismatch.found === undefined || streamIdAfter(mismatch.found, mismatch.expected)
        ? `entry ${position} (stream entry ${mismatch.expected}) is missing from the audit stream: deleted`
        : `the audit stream holds entry ${mismatch.found} at position ${position}, which the log never appended: inserted`;
    case 'count':
      return `a tile holds ${mismatch.entries} entries but ${mismatch.stored} leaf hashes (entries added or removed)`;
  }
}

/**
 * Every tree size the notes name, ascending, their signatures not checked: where tiles can be cut
 * (`summariseTile`) before `LogVerification` has opened the checkpoints. It holds every size that
 * verification checks; a cut at any other size is passed over (`addTileSummary`), so the report is the same.
 */
export function claimedCheckpointSizes(notes: readonly string[]): number[] {
  const sizes = new Set<number>();
  for (const note of notes) {
    const size = claimedCheckpointSize(note);
    if (size !== undefined) sizes.add(size);
  }
  return [...sizes].sort((a, b) => a - b);
}

/** Feeds leaves in order and checks checkpoints as their sizes are reached. */
export class LogVerification {
  private readonly problems: string[] = [];
  private readonly pending: PendingCheckpoint[] = [];
  private count = 0;
  /** The right edge of the tree of the leaves fed so far: perfect subtrees, largest first. */
  private readonly edge: RightEdge = { stack: [], sizes: [] };
  private firstMismatch: number | undefined;
  /** [last good checkpoint size, failing checkpoint size) intervals. */
  private readonly failedSpans: [number, number][] = [];
  private lastGoodSize = 0;
  private checked = 0;
  private firstLost: number | undefined;
  private mismatches = 0;

  /**
   * @param checkpoints every stored checkpoint note, any order
   * @param claimedSize the size the log's state claims
   */
  constructor(
    checkpoints: readonly string[],
    verifier: NoteVerifier,
    origin: string,
    private readonly claimedSize: number,
  ) {
    const roots = new Map<number, string>();
    for (const note of checkpoints) {
      const opened = openCheckpoint(note, verifier, origin);
      if (!opened.ok) {
        const size = /\n(\d+)\n/.exec(note)?.[1];
        this.problem(`checkpoint${size ? ` of size ${size}` : ''}: ${opened.problem.detail}`);
        continue;
      }
      const { size, rootHash } = opened.checkpoint;
      const seen = roots.get(size);
      if (seen !== undefined && seen !== rootHash.toString('base64')) {
        this.problem(`fork: two checkpoints of size ${size} signed with different roots — the log was signed with two histories`);
      }
      roots.set(size, rootHash.toString('base64'));
      this.pending.push({ size, root: rootHash });
    }
    this.pending.sort((a, b) => b.size - a.size); // popped smallest first
    if (claimedSize < (this.pending[0]?.size ?? 0)) {
      this.problem(`the log claims ${claimedSize} entries but signed a checkpoint of ${this.pending[0]!.size}: entries were removed from its end`);
    }
    this.checkDue();
  }

  /** The sizes of the checkpoints still to check, ascending: where a tile summary must cut (`summariseTile`). */
  get checkpointSizes(): number[] {
    return this.pending.map((cp) => cp.size).reverse();
  }

  /**
   * The next tile, as `summariseTile` summed it up (on this thread or
   * another). Tiles come in order. A tile that starts where the leaves fed so
   * far end joins the tree as its perfect subtrees (one, its root, when it is
   * full). After a short tile (an entry deleted) later tiles no longer start
   * there: they are fed leaf by leaf, so positions stay those of the entries
   * actually read, as a leaf-by-leaf run has them.
   */
  addTileSummary(tile: TileSummary): void {
    const first = this.count;
    const shift = first - tile.first;
    // The tile's first mismatch is reported where a leaf-by-leaf run would meet it: an entry's or id's before any
    // checkpoint past it, a count that differs after the tile's last leaf.
    let mismatch = tile.firstMismatch;
    if (mismatch) this.mismatches += tile.mismatches - 1;
    const mismatchBefore = (size: number) => {
      if (!mismatch || (mismatch.kind !== 'count' ? first + mismatch.offset >= size : size !== Infinity)) return;
      this.mismatch(first + mismatch.offset, mismatchProblem(mismatch, first));
      mismatch = undefined;
    };
    if (shift === 0 && tile.parts.length > 0) {
      for (const cut of tile.cuts) {
        // A cut at a size no checkpoint still to check has (one whose note did not open) is passed over.
        if (!this.due(cut.size)) continue;
        mismatchBefore(cut.size);
        this.checkDue(cut.size, cut.parts);
      }
      mismatchBefore(first + tile.count);
      let size = 2 ** Math.floor(Math.log2(tile.count));
      for (const part of tile.parts) {
        while ((tile.count & size) === 0) size /= 2;
        this.push(part, size);
        size /= 2;
      }
      this.checkDue();
    } else {
      // Positions moved (an earlier tile was short): leaf by leaf, checking every checkpoint on the way.
      for (let i = 0; i < tile.count; i++) {
        mismatchBefore(first + i + 1);
        this.push(tile.leaves.subarray(i * HASH_BYTES, (i + 1) * HASH_BYTES), 1);
        this.checkDue();
      }
    }
    mismatchBefore(Infinity);
  }

  /** Ends the run: checkpoints beyond the entries read, and the verdict. */
  finish(): VerificationReport {
    if (this.mismatches > 1) this.problem(`${this.mismatches} positions in all do not match their stored leaf hashes`);
    if (this.count < this.claimedSize) {
      this.lost(this.count, `the log claims ${this.claimedSize} entries but holds ${this.count}: entries from position ${this.count} are missing`);
    }
    for (const cp of this.pending.splice(0)) {
      this.lost(this.count, `a checkpoint of size ${cp.size} was signed but only ${this.count} entries remain: entries from position ${this.count} were removed`);
    }
    const candidates: number[] = [];
    if (this.firstMismatch !== undefined) candidates.push(this.firstMismatch);
    if (this.firstLost !== undefined) candidates.push(this.firstLost);
    for (const [good, bad] of this.failedSpans) {
      // Exact when a stored hash pinpoints the damage inside the span; otherwise the first unvouched position.
      candidates.push(this.firstMismatch !== undefined && this.firstMismatch >= good && this.firstMismatch < bad ? this.firstMismatch : good);
    }
    const firstBadPosition = candidates.length > 0 ? Math.min(...candidates) : undefined;
    return {
      size: this.count,
      root: this.root().toString('base64'),
      claimedSize: this.claimedSize,
      checkpointsChecked: this.checked,
      ok: this.problems.length === 0,
      ...(firstBadPosition !== undefined ? { firstBadPosition } : {}),
      problems: [...this.problems],
    };
  }

  /** Adds a perfect subtree of `size` leaves at the right edge (aligned: it starts at a multiple of its size). */
  private push(hash: Buffer, leaves: number): void {
    pushSubtree(this.edge, hash, leaves);
    this.count += leaves;
  }

  /** The root of the leaves fed so far, followed by `more` (perfect subtrees after them, largest first). */
  private root(more: readonly Buffer[] = []): Buffer {
    const parts = [...this.edge.stack, ...more];
    if (parts.length === 0) return EMPTY_ROOT;
    let root = parts[parts.length - 1]!;
    for (let i = parts.length - 2; i >= 0; i--) root = nodeHash(parts[i]!, root);
    return root;
  }

  /**
   * Checks the checkpoints of `size` leaves: by default the leaves fed so far;
   * or those and `more` (a tile's subtrees up to a size inside it).
   */
  private checkDue(size = this.count, more: readonly Buffer[] = []): void {
    if (!this.due(size)) return;
    const root = this.root(more);
    // All checkpoints of this size against the same root (two would be a fork): a good one moves the mark only after.
    let matched = false;
    while (this.pending.length > 0 && this.pending[this.pending.length - 1]!.size === size) {
      const cp = this.pending.pop()!;
      this.checked++;
      if (root.equals(cp.root)) {
        matched = true;
      } else {
        this.failedSpans.push([this.lastGoodSize, cp.size]);
        this.problem(`the entries do not give the root of the checkpoint of size ${cp.size}: the log before position ${cp.size} is not the one that was signed`);
      }
    }
    if (matched) this.lastGoodSize = size;
  }

  /** Whether the next checkpoint to check is of `size` leaves. */
  private due(size: number): boolean {
    return this.pending.length > 0 && this.pending[this.pending.length - 1]!.size === size;
  }

  private mismatch(position: number, text: string): void {
    this.mismatches++;
    // The first one says where; after a removal every later entry is off by one, so the rest are only counted.
    if (this.firstMismatch !== undefined) {
      this.firstMismatch = Math.min(this.firstMismatch, position);
      return;
    }
    this.firstMismatch = position;
    this.problem(text);
  }

  private lost(position: number, text: string): void {
    if (this.firstLost === undefined || position < this.firstLost) this.firstLost = position;
    this.problem(text);
  }

  private problem(text: string): void {
    if (this.problems.length < MAX_PROBLEMS) this.problems.push(text);
  }
}
