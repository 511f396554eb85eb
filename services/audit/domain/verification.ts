/**
 * Full verification of the log: re-derive every leaf hash from its entry, the
 * root at every checkpoint size from those, and check every checkpoint — its
 * signature, its origin, and its root against the entries. Reports the size,
 * the root, and the first bad position.
 *
 * What "first bad position" can mean: an entry whose bytes no longer give the
 * stored leaf hash (altered, deleted, moved) is found exactly. If whoever
 * tampered also rewrote the stored hashes, only the signed checkpoints remain
 * as witnesses: the first checkpoint whose root the entries no longer give
 * says the damage is after the last checkpoint that still matches, and that
 * position is reported — the first position no signature vouches for any more.
 *
 * Streaming: leaves are fed tile by tile in order, so a million entries need
 * only the right edge of the tree in memory. Pure: no I/O.
 */
import { openCheckpoint, type NoteVerifier } from './checkpoint.js';
import { leafHash, nodeHash, EMPTY_ROOT } from './merkle.js';

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

/** Feeds leaves in order and checks checkpoints as their sizes are reached. */
export class LogVerification {
  private readonly problems: string[] = [];
  private readonly pending: PendingCheckpoint[] = [];
  private count = 0;
  /** The right edge of the tree of the leaves fed so far: perfect subtrees, largest first. */
  private readonly stack: Buffer[] = [];
  private readonly stackSizes: number[] = [];
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

  /**
   * The next tile's entries (canonical bytes) and the leaf hashes stored for
   * them; `truncated` when the stored bundle was cut inside an entry.
   */
  addTile(entries: readonly Uint8Array[], storedHashes: readonly Uint8Array[], truncated = false): void {
    this.addHashedTile(entries.map((e) => leafHash(e)), storedHashes, truncated);
  }

  /** The same, with the entries' leaf hashes already computed (tiles.ts `leafHashesOfBundle`). */
  addHashedTile(leafHashes: readonly Buffer[], storedHashes: readonly Uint8Array[], truncated = false): void {
    const entries = leafHashes;
    const first = this.count;
    if (truncated) this.problem(`the entry bundle after position ${first + entries.length - 1} is cut short`);
    for (let i = 0; i < entries.length; i++) {
      const hash = entries[i]!;
      const stored = storedHashes[i];
      if (!stored || !hash.equals(stored)) this.mismatch(this.count, `entry ${this.count} does not give its stored leaf hash (altered, removed or moved)`);
      this.push(hash);
      this.checkDue();
    }
    if (storedHashes.length !== entries.length) {
      this.mismatch(first + Math.min(entries.length, storedHashes.length), `a tile holds ${entries.length} entries but ${storedHashes.length} leaf hashes (entries added or removed)`);
    }
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

  private push(hash: Buffer): void {
    let node = hash;
    let size = 1;
    while (this.stackSizes.length > 0 && this.stackSizes[this.stackSizes.length - 1] === size) {
      node = nodeHash(this.stack.pop()!, node);
      this.stackSizes.pop();
      size *= 2;
    }
    this.stack.push(node);
    this.stackSizes.push(size);
    this.count++;
  }

  private root(): Buffer {
    if (this.stack.length === 0) return EMPTY_ROOT;
    let root = this.stack[this.stack.length - 1]!;
    for (let i = this.stack.length - 2; i >= 0; i--) root = nodeHash(this.stack[i]!, root);
    return root;
  }

  /** Checks the checkpoints whose size the leaves fed so far reach. */
  private checkDue(): void {
    if (this.pending.length === 0 || this.pending[this.pending.length - 1]!.size !== this.count) return;
    const root = this.root();
    // All checkpoints of this size against the same root (two would be a fork): a good one moves the mark only after.
    let matched = false;
    while (this.pending.length > 0 && this.pending[this.pending.length - 1]!.size === this.count) {
      const cp = this.pending.pop()!;
      this.checked++;
      if (root.equals(cp.root)) {
        matched = true;
      } else {
        this.failedSpans.push([this.lastGoodSize, cp.size]);
        this.problem(`the entries do not give the root of the checkpoint of size ${cp.size}: the log before position ${cp.size} is not the one that was signed`);
      }
    }
    if (matched) this.lastGoodSize = this.count;
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
