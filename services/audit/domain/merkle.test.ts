/**
 * The Merkle tree against RFC 9162 itself: a direct, recursive transcription of
 * the RFC's definitions (MTH, PATH, PROOF/SUBPROOF) computes every proof of
 * every leaf and every size pair of trees of 1 to 8 leaves, and the verifiers
 * must accept exactly those; the roots of the RFC 6962 reference leaves are the
 * published values; and (fast-check) any single-bit change to a leaf, a proof
 * hash or a root is caught.
 */
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import {
  consistencyProof,
  EMPTY_ROOT,
  inclusionProof,
  leafHash,
  nodeHash,
  perfectSubtrees,
  rangeHashFromPerfect,
  rootOf,
  verifyConsistency,
  verifyInclusion,
} from './merkle.js';

const sha = (...parts: Buffer[]) => createHash('sha256').update(Buffer.concat(parts)).digest();

/** RFC 9162 §2.1.1, word for word, over the entries themselves. */
function mth(d: readonly Buffer[]): Buffer {
  if (d.length === 0) return sha();
  if (d.length === 1) return sha(Buffer.from([0]), d[0]!);
  let k = 1;
  while (k * 2 < d.length) k *= 2;
  return sha(Buffer.from([1]), mth(d.slice(0, k)), mth(d.slice(k)));
}

/** RFC 9162 §2.1.3.1 PATH(m, D[n]). */
function path(m: number, d: readonly Buffer[]): Buffer[] {
  if (d.length <= 1) return [];
  let k = 1;
  while (k * 2 < d.length) k *= 2;
  return m < k ? [...path(m, d.slice(0, k)), mth(d.slice(k))] : [...path(m - k, d.slice(k)), mth(d.slice(0, k))];
}

/** RFC 9162 §2.1.4.1 SUBPROOF(m, D[n], b). */
function subproof(m: number, d: readonly Buffer[], b: boolean): Buffer[] {
  if (m === d.length) return b ? [] : [mth(d)];
  let k = 1;
  while (k * 2 < d.length) k *= 2;
  return m <= k ? [...subproof(m, d.slice(0, k), b), mth(d.slice(k))] : [...subproof(m - k, d.slice(k), false), mth(d.slice(0, k))];
}

/** The RFC 6962 reference entries (certificate-transparency test vectors). */
const REFERENCE_LEAVES = ['', '00', '10', '2021', '3031', '40414243', '5051525354555657', '606162636465666768696a6b6c6d6e6f'].map((h) => Buffer.from(h, 'hex'));
const REFERENCE_ROOTS = [
  '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d',
  'fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125',
  'aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77',
  'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
  '4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4',
  '76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef',
  'ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c',
  '5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328',
];

const entries = (n: number) => Array.from({ length: n }, (_, i) => Buffer.from(`entry ${i}`));
const hashesOf = (d: readonly Buffer[]) => d.map((e) => leafHash(e));

describe('the tree hash', () => {
  it('gives the published RFC 6962 roots for the reference entries, sizes 1 to 8', () => {
    for (let n = 1; n <= 8; n++) expect(rootOf(hashesOf(REFERENCE_LEAVES.slice(0, n))).toString('hex')).toBe(REFERENCE_ROOTS[n - 1]);
  });

  it('is the RFC definition for every size up to 70 (balanced and unbalanced)', () => {
    for (let n = 0; n <= 70; n++) expect(rootOf(hashesOf(entries(n))).equals(mth(entries(n)))).toBe(true);
  });

  it('has the empty tree root SHA-256 of nothing', () => {
    expect(EMPTY_ROOT.toString('hex')).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
  });

  it('builds any range from its perfect subtrees', () => {
    const d = entries(23);
    for (let start = 0; start <= 23; start++) {
      for (let end = start; end <= 23; end++) {
        const perfect = perfectSubtrees({ start, end });
        const viaPerfect = rangeHashFromPerfect(perfect.map((r) => mth(d.slice(r.start, r.end))));
        if (start % 8 === 0) expect(viaPerfect.equals(mth(d.slice(start, end)))).toBe(true);
        for (const r of perfect) expect((r.end - r.start) & (r.end - r.start - 1)).toBe(0);
      }
    }
  });
});

describe('inclusion proofs (sizes 1-8, every leaf)', () => {
  for (let n = 1; n <= 8; n++) {
    it(`are RFC 9162 PATH for every leaf of a tree of ${n} and verify`, () => {
      const d = entries(n);
      const leaves = hashesOf(d);
      const root = mth(d);
      for (let m = 0; m < n; m++) {
        const proof = inclusionProof(leaves, m);
        expect(proof.map((h) => h.toString('hex'))).toEqual(path(m, d).map((h) => h.toString('hex')));
        expect(verifyInclusion(m, n, leaves[m]!, proof, root)).toBe(true);
        // The same proof for another leaf, at another position, or against the root of a grown tree is refused.
        if (n > 1) expect(verifyInclusion(m, n, leaves[(m + 1) % n]!, proof, root)).toBe(false);
        if (n > 1) expect(verifyInclusion((m + 1) % n, n, leaves[m]!, proof, root)).toBe(false);
        expect(verifyInclusion(m, n, leaves[m]!, proof, mth(entries(n + 1)))).toBe(false);
      }
    });
  }

  it('refuses a leaf outside the tree and a proof with a hash too many or too few', () => {
    const leaves = hashesOf(entries(5));
    const root = rootOf(leaves);
    const proof = inclusionProof(leaves, 2);
    expect(verifyInclusion(5, 5, leaves[2]!, proof, root)).toBe(false);
    expect(verifyInclusion(-1, 5, leaves[2]!, proof, root)).toBe(false);
    expect(verifyInclusion(2, 5, leaves[2]!, [...proof, leaves[0]!], root)).toBe(false);
    expect(verifyInclusion(2, 5, leaves[2]!, proof.slice(1), root)).toBe(false);
  });
});

describe('consistency proofs (sizes 1-8, every pair)', () => {
  for (let n = 1; n <= 8; n++) {
    it(`are RFC 9162 PROOF from every size to ${n} and verify`, () => {
      const d = entries(n);
      const leaves = hashesOf(d);
      const newRoot = mth(d);
      for (let m = 0; m <= n; m++) {
        const proof = consistencyProof(leaves, m, n);
        const expected = m === 0 || m === n ? [] : subproof(m, d, true);
        expect(proof.map((h) => h.toString('hex'))).toEqual(expected.map((h) => h.toString('hex')));
        const oldRoot = mth(d.slice(0, m));
        expect(verifyConsistency(m, n, oldRoot, newRoot, proof)).toBe(true);
        if (m > 0 && m < n) {
          // A different old root (another history), or the sizes swapped, is refused.
          expect(verifyConsistency(m, n, mth(entries(m).map((e) => Buffer.concat([e, Buffer.from('x')]))), newRoot, proof)).toBe(false);
          expect(verifyConsistency(n, m, newRoot, oldRoot, proof)).toBe(false);
        }
      }
    });
  }

  it('refuses equal sizes with different roots, and a non-empty proof from the empty tree', () => {
    const leaves = hashesOf(entries(4));
    expect(verifyConsistency(4, 4, rootOf(leaves), rootOf(leaves.slice(0, 3)), [])).toBe(false);
    expect(verifyConsistency(0, 4, EMPTY_ROOT, rootOf(leaves), [leaves[0]!])).toBe(false);
  });
});

describe('any single-bit change is caught (property)', () => {
  const flip = (h: Buffer, bit: number) => {
    const copy = Buffer.from(h);
    copy[Math.floor(bit / 8) % copy.length]! ^= 1 << (bit % 8);
    return copy;
  };

  it('in the leaf, a proof hash or the root of an inclusion proof', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 300 }), fc.nat(), fc.nat({ max: 255 }), fc.nat(), (n, m0, bit, which) => {
        const m = m0 % n;
        const leaves = hashesOf(entries(n));
        const root = rootOf(leaves);
        const proof = inclusionProof(leaves, m);
        expect(verifyInclusion(m, n, leaves[m]!, proof, root)).toBe(true);
        const target = which % (proof.length + 2);
        if (target === 0) return verifyInclusion(m, n, flip(leaves[m]!, bit), proof, root) === false;
        if (target === 1) return verifyInclusion(m, n, leaves[m]!, proof, flip(root, bit)) === false;
        const bad = proof.map((h, i) => (i === target - 2 ? flip(h, bit) : h));
        return verifyInclusion(m, n, leaves[m]!, bad, root) === false;
      }),
      { numRuns: 300 },
    );
  });

  it('in either root or a proof hash of a consistency proof', () => {
    fc.assert(
      fc.property(fc.integer({ min: 2, max: 300 }), fc.nat(), fc.nat({ max: 255 }), fc.nat(), (n, m0, bit, which) => {
        const m = 1 + (m0 % (n - 1));
        const leaves = hashesOf(entries(n));
        const oldRoot = rootOf(leaves.slice(0, m));
        const newRoot = rootOf(leaves);
        const proof = consistencyProof(leaves, m, n);
        expect(verifyConsistency(m, n, oldRoot, newRoot, proof)).toBe(true);
        const target = which % (proof.length + 2);
        if (target === 0) return verifyConsistency(m, n, flip(oldRoot, bit), newRoot, proof) === false;
        if (target === 1) return verifyConsistency(m, n, oldRoot, flip(newRoot, bit), proof) === false;
        const bad = proof.map((h, i) => (i === target - 2 ? flip(h, bit) : h));
        return verifyConsistency(m, n, oldRoot, newRoot, bad) === false;
      }),
      { numRuns: 300 },
    );
  });

  it('node hashes are ordered: swapping children changes the parent', () => {
    const [a, b] = hashesOf(entries(2));
    expect(nodeHash(a!, b!).equals(nodeHash(b!, a!))).toBe(false);
  });
});
