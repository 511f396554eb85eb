/**
 * String similarity for short strings (names, postcodes, identifiers). Written for the
 * comparison loop: no allocation per call (the Jaro match flags live in reused buffers).
 */

let flagsA = new Uint8Array(64);
let flagsB = new Uint8Array(64);

function ensureFlagCapacity(n: number): void {
  if (flagsA.length >= n) return;
  flagsA = new Uint8Array(n * 2);
  flagsB = new Uint8Array(n * 2);
}

/** Jaro similarity in [0, 1]; 1 for equal strings, 0 when nothing matches. */
export function jaro(a: string, b: string): number {
  if (a === b) return 1;
  const la = a.length;
  const lb = b.length;
  if (la === 0 || lb === 0) return 0;
  ensureFlagCapacity(la > lb ? la : lb);
  // Local references: the loops below are the hottest code of a comparison.
  const fa = flagsA;
  const fb = flagsB;
  for (let i = 0; i < la; i++) fa[i] = 0;
  for (let j = 0; j < lb; j++) fb[j] = 0;
  const window = Math.max(0, ((la > lb ? la : lb) >> 1) - 1);

  let matches = 0;
  for (let i = 0; i < la; i++) {
    const lo = i > window ? i - window : 0;
    const hi = i + window < lb - 1 ? i + window : lb - 1;
    const c = a.charCodeAt(i);
    for (let j = lo; j <= hi; j++) {
      if (fb[j] === 0 && b.charCodeAt(j) === c) {
        fa[i] = 1;
        fb[j] = 1;
        matches++;
        break;
      }
    }
  }
  if (matches === 0) return 0;

  let transpositions = 0;
  let k = 0;
  for (let i = 0; i < la; i++) {
    if (fa[i] === 0) continue;
    while (fb[k] === 0) k++;
    if (a.charCodeAt(i) !== b.charCodeAt(k)) transpositions++;
    k++;
  }
  const m = matches;
  return (m / la + m / lb + (m - transpositions / 2) / m) / 3;
}

/**
 * Jaro-Winkler similarity: Jaro boosted by a common prefix of up to 4 characters
 * (scale 0.1), the usual choice for personal names, where errors are rarer at the start.
 */
export function jaroWinkler(a: string, b: string): number {
  const j = jaro(a, b);
  if (j === 1 || j === 0) return j;
  const limit = Math.min(4, a.length, b.length);
  let prefix = 0;
  while (prefix < limit && a.charCodeAt(prefix) === b.charCodeAt(prefix)) prefix++;
  return j + prefix * 0.1 * (1 - j);
}

let row0 = new Int32Array(32);
let row1 = new Int32Array(32);
let row2 = new Int32Array(32);

/**
 * Optimal-string-alignment edit distance: insertions, deletions, substitutions and
 * transpositions of adjacent characters each cost 1 (a swapped pair of digits is one
 * keying error, not two).
 */
export function editDistance(a: string, b: string): number {
  if (a === b) return 0;
  const la = a.length;
  const lb = b.length;
  if (la === 0) return lb;
  if (lb === 0) return la;
  if (row0.length <= lb) {
    row0 = new Int32Array(lb * 2 + 1);
    row1 = new Int32Array(lb * 2 + 1);
    row2 = new Int32Array(lb * 2 + 1);
  }
  // prev2 = row i-2, prev = row i-1, cur = row i
  let prev2 = row0;
  let prev = row1;
  let cur = row2;
  for (let j = 0; j <= lb; j++) prev[j] = j;
  for (let i = 1; i <= la; i++) {
    cur[0] = i;
    const ca = a.charCodeAt(i - 1);
    for (let j = 1; j <= lb; j++) {
      const cb = b.charCodeAt(j - 1);
      const cost = ca === cb ? 0 : 1;
      let best = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + cost);
      if (i > 1 && j > 1 && ca === b.charCodeAt(j - 2) && a.charCodeAt(i - 2) === cb) {
        best = Math.min(best, prev2[j - 2]! + 1);
      }
      cur[j] = best;
    }
    const spare = prev2;
    prev2 = prev;
    prev = cur;
    cur = spare;
  }
  return prev[lb]!;
}
