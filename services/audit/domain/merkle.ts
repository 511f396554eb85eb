/**
 * The audit log's Merkle tree, exactly as RFC 9162 §2.1 defines it (the
 * Certificate Transparency v2 tree): a leaf is SHA-256(0x00 || entry bytes), an
 * interior node SHA-256(0x01 || left || right), and a tree of n > 1 leaves is
 * split at k, the largest power of two below n. Proofs are lists of subtree
 * hashes: the inclusion proof ("audit path", §2.1.3) and the consistency proof
 * (§2.1.4), with the verifiers of §2.1.3.2 and §2.1.4.2 written step by step.
 *
 * Pure: no I/O. Proof *construction* is split in two so a store can serve it
 * from whatever it keeps: `inclusionProofRanges` / `consistencyProofRanges`
 * name the subtrees ([start, end) of leaf positions) whose hashes make up the
 * proof, and `rangeHash` computes one such subtree's hash from the hashes of the
 * perfect (power-of-two, aligned) subtrees it is made of — which a store keeps
 * in tiles (store.ts). `inclusionProof` / `consistencyProof` / `rootOf` do all
 * of it over leaf hashes held in memory.
 *
 * Tree sizes are JavaScript numbers (exact up to 2^53): shifts are written as
 * division so they stay exact beyond 2^31.
 */
import { hash } from 'node:crypto';

export const HASH_BYTES = 32;

const LEAF_PREFIX = Buffer.from([0x00]);

/** SHA-256 of the empty string: the root of the empty tree. */
export const EMPTY_ROOT: Buffer = sha256(Buffer.alloc(0));

function sha256(data: Buffer): Buffer {
  // One-shot `crypto.hash` costs about half of createHash().update().digest() per call: verification does millions.
  // Its 'buffer' output is a fresh ArrayBuffer made in C++, ~0.7 µs a call on Node 20 — more than hashing a node's
  // 65 bytes; a 'binary' (latin1: one byte a character) string copied into a pooled Buffer is ~0.2 µs.
  return Buffer.from(hash('sha256', data, 'binary'), 'latin1');
}

/** SHA-256 of bytes already laid out as a leaf or node input (the prefix byte included). */
export function sha256Of(data: Buffer): Buffer {
  return sha256(data);
}

/**
 * SHA-256 of `data` written at out[at, at + 32): for hashes kept packed (a tile's leaves, a
 * level of its subtree) — no Buffer object per hash, which verification would make millions of.
 */
export function writeSha256(data: Uint8Array, out: Buffer, at: number): void {
  out.write(hash('sha256', data, 'binary'), at, HASH_BYTES, 'latin1');
}

/**
 * The interior node over the two hashes at pairs[at, at + 64) (left then right, packed),
 * written at out[outAt, outAt + 32).
 */
export function writeNodeHash(pairs: Buffer, at: number, out: Buffer, outAt: number): void {
  pairs.copy(NODE_INPUT, 1, at, at + 2 * HASH_BYTES);
  writeSha256(NODE_INPUT, out, outAt);
}

/** The leaf hash of one entry: SHA-256(0x00 || entry). */
export function leafHash(entry: Uint8Array): Buffer {
  const data = Buffer.allocUnsafe(1 + entry.length);
  data[0] = 0x00;
  data.set(entry, 1);
  return sha256(data);
}

/** The leaf hash of an entry given as text (its UTF-8 bytes). */
export function leafHashOfText(entry: string): Buffer {
  return sha256(Buffer.concat([LEAF_PREFIX, Buffer.from(entry, 'utf8')]));
}

/** One interior node's input, reused call after call (hashing is synchronous): verification hashes a node per leaf. */
const NODE_INPUT = Buffer.alloc(1 + 2 * HASH_BYTES, 0x01);

/** An interior node: SHA-256(0x01 || left || right). */
export function nodeHash(left: Uint8Array, right: Uint8Array): Buffer {
  NODE_INPUT.set(left, 1);
  NODE_INPUT.set(right, 1 + HASH_BYTES);
  return sha256(NODE_INPUT);
}

/** The largest power of two strictly below n (n ≥ 2). */
export function splitPoint(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

function isPowerOfTwo(n: number): boolean {
  return n >= 1 && Number.isInteger(Math.log2(n)) && 2 ** Math.log2(n) === n;
}

/**
 * The right edge of a tree being built left to right: `stack[i]` the hash of a
 * perfect subtree of `sizes[i]` leaves, largest first (a binary counter).
 */
export interface RightEdge {
  readonly stack: Buffer[];
  readonly sizes: number[];
}

/**
 * Adds a perfect subtree of `leaves` leaves (a leaf: 1) at the right edge;
 * equal neighbours merge into their parent. It must start at a multiple of its
 * size — true for leaves, and for a tile's root after whole tiles.
 */
export function pushSubtree(edge: RightEdge, hash: Buffer, leaves: number): void {
  const { stack, sizes } = edge;
  let node = hash;
  let size = leaves;
  while (sizes.length > 0 && sizes[sizes.length - 1] === size) {
    node = nodeHash(stack.pop()!, node);
    sizes.pop();
    size *= 2;
  }
  stack.push(node);
  sizes.push(size);
}

/**
 * MTH over hashes that are already leaf (or node) hashes: the root of the
 * tree whose bottom row they are. Iterative (a stack of perfect subtrees), so
 * a million leaves need no recursion and one pass.
 */
export function rootOfHashes(hashes: readonly Uint8Array[]): Buffer {
  if (hashes.length === 0) return EMPTY_ROOT;
  const edge: RightEdge = { stack: [], sizes: [] };
  for (const h of hashes) pushSubtree(edge, Buffer.from(h.buffer, h.byteOffset, h.byteLength), 1);
  const { stack } = edge;
  // The right edge: fold the smaller subtrees into the larger ones, right to left (RFC 9162's unbalanced split).
  let root = stack.pop()!;
  while (stack.length > 0) root = nodeHash(stack.pop()!, root);
  return root;
}

/** MTH(D[n]) over the entries' leaf hashes. */
export function rootOf(leafHashes: readonly Uint8Array[]): Buffer {
  return rootOfHashes(leafHashes);
}

/** A subtree of leaf positions [start, end). */
export interface Range {
  readonly start: number;
  readonly end: number;
}

/**
 * The subtrees whose hashes form the inclusion proof of leaf `index` in a tree
 * of `size` leaves (RFC 9162 §2.1.3.1 PATH), in proof order: from the leaf's
 * sibling up to the root's other child.
 */
export function inclusionProofRanges(index: number, size: number): Range[] {
  assertIndex(index, size);
  const ranges: Range[] = [];
  const path = (m: number, start: number, end: number): void => {
    const n = end - start;
    if (n <= 1) return;
    const k = splitPoint(n);
    if (m < k) {
      path(m, start, start + k);
      ranges.push({ start: start + k, end });
    } else {
      path(m - k, start + k, end);
      ranges.push({ start, end: start + k });
    }
  };
  path(index, 0, size);
  return ranges;
}

/**
 * The subtrees whose hashes form the consistency proof between tree sizes
 * `from` and `to` (RFC 9162 §2.1.4.1 PROOF / SUBPROOF), in proof order.
 * Empty when from is 0 or from equals to.
 */
export function consistencyProofRanges(from: number, to: number): Range[] {
  assertSizes(from, to);
  const ranges: Range[] = [];
  if (from === 0 || from === to) return ranges;
  const subproof = (m: number, start: number, end: number, whole: boolean): void => {
    const n = end - start;
    if (m === n) {
      if (!whole) ranges.push({ start, end });
      return;
    }
    const k = splitPoint(n);
    if (m <= k) {
      subproof(m, start, start + k, whole);
      ranges.push({ start: start + k, end });
    } else {
      subproof(m - k, start + k, end, false);
      ranges.push({ start, end: start + k });
    }
  };
  subproof(from, 0, to, true);
  return ranges;
}

/**
 * The perfect subtrees (size a power of two, start a multiple of it) that
 * [start, end) splits into under MTH, left to right. Every range a proof
 * names is aligned this way (RFC 9162's splits are at powers of two), so a
 * store that keeps perfect subtree hashes can answer any of them.
 */
export function perfectSubtrees(range: Range): Range[] {
  const out: Range[] = [];
  const walk = (start: number, end: number): void => {
    const n = end - start;
    if (n === 0) return;
    if (isPowerOfTwo(n) && start % n === 0) {
      out.push({ start, end });
      return;
    }
    const k = splitPoint(n);
    walk(start, start + k);
    walk(start + k, end);
  };
  walk(range.start, range.end);
  return out;
}

/**
 * MTH(D[start:end]) given the hashes of its perfect subtrees (in the order
 * `perfectSubtrees` lists them): they are folded right to left, as the
 * unbalanced right edge of an RFC 9162 tree is.
 */
export function rangeHashFromPerfect(perfect: readonly Uint8Array[]): Buffer {
  if (perfect.length === 0) return EMPTY_ROOT;
  let root: Buffer = Buffer.from(perfect[perfect.length - 1]!);
  for (let i = perfect.length - 2; i >= 0; i--) root = nodeHash(perfect[i]!, root);
  return root;
}

/** MTH(D[start:end]) over leaf hashes in memory. */
export function rangeHash(leafHashes: readonly Uint8Array[], range: Range): Buffer {
  return rootOfHashes(leafHashes.slice(range.start, range.end));
}

/** RFC 9162 inclusion proof over leaf hashes in memory. */
export function inclusionProof(leafHashes: readonly Uint8Array[], index: number, size = leafHashes.length): Buffer[] {
  if (size > leafHashes.length) throw new RangeError(`tree size ${size} is beyond the ${leafHashes.length} leaves given`);
  return inclusionProofRanges(index, size).map((r) => rangeHash(leafHashes, r));
}

/** RFC 9162 consistency proof over leaf hashes in memory. */
export function consistencyProof(leafHashes: readonly Uint8Array[], from: number, to = leafHashes.length): Buffer[] {
  if (to > leafHashes.length) throw new RangeError(`tree size ${to} is beyond the ${leafHashes.length} leaves given`);
  return consistencyProofRanges(from, to).map((r) => rangeHash(leafHashes, r));
}

/**
 * RFC 9162 §2.1.3.2: whether `proof` shows the leaf with hash `leaf` at
 * `index` is in the tree of `size` leaves whose root is `root`.
 */
export function verifyInclusion(index: number, size: number, leaf: Uint8Array, proof: readonly Uint8Array[], root: Uint8Array): boolean {
  if (!Number.isSafeInteger(index) || !Number.isSafeInteger(size) || index < 0 || index >= size) return false;
  if (!isHash(leaf) || !isHash(root) || !proof.every(isHash)) return false;
  let fn = index;
  let sn = size - 1;
  let r: Buffer = Buffer.from(leaf);
  for (const p of proof) {
    if (sn === 0) return false;
    if (fn % 2 === 1 || fn === sn) {
      r = nodeHash(p, r);
      if (fn % 2 === 0) {
        while (fn % 2 === 0 && fn !== 0) {
          fn = Math.floor(fn / 2);
          sn = Math.floor(sn / 2);
        }
      }
    } else {
      r = nodeHash(r, p);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return sn === 0 && r.equals(root);
}

/**
 * RFC 9162 §2.1.4.2: whether `proof` shows the tree of `to` leaves with root
 * `toRoot` extends the tree of `from` leaves with root `fromRoot`. Sizes equal:
 * the roots must be equal and the proof empty; `from` 0: any tree extends the
 * empty one (with an empty proof).
 */
export function verifyConsistency(from: number, to: number, fromRoot: Uint8Array, toRoot: Uint8Array, proof: readonly Uint8Array[]): boolean {
  if (!Number.isSafeInteger(from) || !Number.isSafeInteger(to) || from < 0 || from > to) return false;
  if (!isHash(fromRoot) || !isHash(toRoot) || !proof.every(isHash)) return false;
  if (from === 0) return proof.length === 0 && Buffer.from(fromRoot).equals(EMPTY_ROOT);
  if (from === to) return proof.length === 0 && Buffer.from(fromRoot).equals(toRoot);
  if (proof.length === 0) return false;
  const path = isPowerOfTwo(from) ? [fromRoot, ...proof] : [...proof];
  let fn = from - 1;
  let sn = to - 1;
  while (fn % 2 === 1) {
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  let fr: Buffer = Buffer.from(path[0]!);
  let sr: Buffer = Buffer.from(path[0]!);
  for (const c of path.slice(1)) {
    if (sn === 0) return false;
    if (fn % 2 === 1 || fn === sn) {
      fr = nodeHash(c, fr);
      sr = nodeHash(c, sr);
      if (fn % 2 === 0) {
        while (fn % 2 === 0 && fn !== 0) {
          fn = Math.floor(fn / 2);
          sn = Math.floor(sn / 2);
        }
      }
    } else {
      sr = nodeHash(sr, c);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return sn === 0 && fr.equals(fromRoot) && sr.equals(toRoot);
}

function isHash(h: Uint8Array): boolean {
  return h instanceof Uint8Array && h.length === HASH_BYTES;
}

function assertIndex(index: number, size: number): void {
  if (!Number.isSafeInteger(index) || !Number.isSafeInteger(size) || index < 0 || index >= size) {
    throw new RangeError(`leaf ${index} is not in a tree of ${size} leaves`);
  }
}

function assertSizes(from: number, to: number): void {
  if (!Number.isSafeInteger(from) || !Number.isSafeInteger(to) || from < 0 || from > to) {
    throw new RangeError(`no consistency proof from size ${from} to size ${to}`);
  }
}
