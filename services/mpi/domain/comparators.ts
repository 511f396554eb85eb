/**
 * Field comparators: each turns a pair of records' features into an agreement level
 * (an index into `FIELD_LEVELS[field]`, best agreement first) or `MISSING` when either
 * side lacks the value (missing data is no evidence either way). The Fellegi–Sunter
 * model gives every level its weight; the comparators only say how the values agree.
 */
import type { MatchFeatures } from './features.js';
import { areaLength, samePrefix } from './postcode.js';
import { jaroWinkler } from './similarity.js';

export const FIELD_LEVELS = {
  /** CHI number: equal, one keying error apart (not a valid pair of CHIs, but seen in extracts), different. */
  chi: ['exact', 'near', 'different'],
  /**
   * First forename: nickname (Rab / Robert), similar (Jaro-Winkler ≥ 0.92: one typo),
   * close (≥ 0.80 or the same NYSIIS code), initial (one side is an initial),
   * other-forename (one's first forename is the other's middle name).
   */
  given: ['exact', 'nickname', 'similar', 'close', 'initial', 'other-forename', 'different'],
  /** Family name after Mc/Mac normalisation; part = one part of a double-barrelled name (Smith / Smith-Jones). */
  family: ['exact', 'part', 'similar', 'close', 'different'],
  /**
   * Birth date: day and month transposed, one-year slip, one digit mistyped (or two adjacent
   * digits swapped), partial (one side has only YYYY or YYYY-MM and the parts present agree).
   */
  birthDate: ['exact', 'transposed', 'year-slip', 'one-digit', 'partial', 'different'],
  sex: ['same', 'different'],
  /** Postcode: unit, sector (EH1 1), one character mistyped, district (EH1), area (EH). */
  postcode: ['exact', 'sector', 'typo', 'district', 'area', 'different'],
  /**
   * Address line: exact (same numbers and words), number-street (a house number in common
   * and street words similar), street (words similar, ≥ 0.9 Monge-Elkan Jaro-Winkler), number.
   */
  address: ['exact', 'number-street', 'street', 'number', 'different'],
  town: ['exact', 'similar', 'different'],
  phone: ['exact', 'different'],
} as const;

export type FieldName = keyof typeof FIELD_LEVELS;
export type FieldLevel<F extends FieldName> = (typeof FIELD_LEVELS)[F][number];

/** Fields in the order comparisons report them. */
export const FIELD_NAMES = Object.keys(FIELD_LEVELS) as readonly FieldName[];

/** Level index for "one side has no value". */
export const MISSING = -1;

const NAME_SIMILAR = 0.92;
const NAME_CLOSE = 0.8;
const STREET_SIMILAR = 0.9;
const TOWN_SIMILAR = 0.9;

export function compareChi(a: MatchFeatures, b: MatchFeatures): number {
  if (!a.chi || !b.chi) return MISSING;
  if (a.chi === b.chi) return 0;
  return oneEditApart(a.chi, b.chi) ? 1 : 2;
}

/**
 * Are two different strings one keying error apart (one character substituted, inserted
 * or deleted, or two adjacent characters swapped)? Linear, without a full edit distance.
 */
export function oneEditApart(x: string, y: string): boolean {
  const lx = x.length;
  const ly = y.length;
  if (Math.abs(lx - ly) > 1) return false;
  let i = 0;
  while (i < lx && i < ly && x.charCodeAt(i) === y.charCodeAt(i)) i++;
  if (lx === ly) {
    if (i === lx) return false;
    // Substitution: the rest agrees; transposition: swapped pair, then the rest agrees.
    if (x.slice(i + 1) === y.slice(i + 1)) return true;
    return i + 1 < lx && x.charCodeAt(i) === y.charCodeAt(i + 1) && x.charCodeAt(i + 1) === y.charCodeAt(i) && x.slice(i + 2) === y.slice(i + 2);
  }
  // Insertion or deletion at i.
  return lx > ly ? x.slice(i + 1) === y.slice(i) : x.slice(i) === y.slice(i + 1);
}

export function compareGiven(a: MatchFeatures, b: MatchFeatures): number {
  const x = a.g;
  const y = b.g;
  if (!x || !y) return MISSING;
  if (x === y) return 0;
  if (a.gn !== undefined && b.gn !== undefined && sharesWord(a.gn, b.gn)) return 1;
  // An initial against a full name: only the first letter can agree.
  if (x.length === 1 || y.length === 1) return x.charCodeAt(0) === y.charCodeAt(0) ? 4 : 6;
  const jw = jaroWinkler(x, y);
  if (jw >= NAME_SIMILAR) return 2;
  if (jw >= NAME_CLOSE || (a.gp !== undefined && a.gp === b.gp)) return 3;
  if ((b.go !== undefined && hasWord(b.go, x)) || (a.go !== undefined && hasWord(a.go, y))) return 5;
  return 6;
}

export function compareFamily(a: MatchFeatures, b: MatchFeatures): number {
  const x = a.f;
  const y = b.f;
  if (!x || !y) return MISSING;
  if (x === y) return 0;
  if (sharesPart(a, b)) return 1;
  const jw = jaroWinkler(x, y);
  if (jw >= NAME_SIMILAR) return 2;
  if (jw >= NAME_CLOSE || (a.fp !== undefined && a.fp === b.fp)) return 3;
  return 4;
}

function sharesPart(a: MatchFeatures, b: MatchFeatures): boolean {
  if (a.fs) {
    if (b.fs) {
      for (const p of a.fs) if (b.fs.includes(p)) return true;
      return false;
    }
    return a.fs.includes(b.f!);
  }
  return b.fs !== undefined && b.fs.includes(a.f!);
}

export function compareBirthDate(a: MatchFeatures, b: MatchFeatures): number {
  if (a.y === undefined || b.y === undefined) return MISSING;
  const full = a.m !== undefined && a.d !== undefined && b.m !== undefined && b.d !== undefined;
  if (!full) {
    // Compare the parts both sides have.
    if (a.y !== b.y) return 5;
    if (a.m !== undefined && b.m !== undefined && a.m !== b.m) return 5;
    return 4;
  }
  const am = a.m;
  const ad = a.d;
  const bm = b.m;
  const bd = b.d;
  if (a.y === b.y && am === bm && ad === bd) return 0;
  if (a.y === b.y && ad === bm && am === bd) return 1;
  if (am === bm && ad === bd && Math.abs(a.y - b.y) === 1) return 2;
  if (oneDigitApart(a.y * 10000 + am * 100 + ad, b.y * 10000 + bm * 100 + bd)) return 3;
  return 5;
}

/** Do two YYYYMMDD numbers differ by one digit, or by two adjacent digits swapped? */
function oneDigitApart(x: number, y: number): boolean {
  let diffs = 0;
  let firstDiff = -1;
  let px = x;
  let py = y;
  const dx: number[] = DIGITS_X;
  const dy: number[] = DIGITS_Y;
  for (let i = 7; i >= 0; i--) {
    dx[i] = px % 10;
    dy[i] = py % 10;
    px = Math.floor(px / 10);
    py = Math.floor(py / 10);
  }
  for (let i = 0; i < 8; i++) {
    if (dx[i] !== dy[i]) {
      diffs++;
      if (firstDiff < 0) firstDiff = i;
    }
  }
  if (diffs === 1) return true;
  return (
    diffs === 2 &&
    firstDiff < 7 &&
    dx[firstDiff] === dy[firstDiff + 1] &&
    dx[firstDiff + 1] === dy[firstDiff]
  );
}
const DIGITS_X: number[] = [0, 0, 0, 0, 0, 0, 0, 0];
const DIGITS_Y: number[] = [0, 0, 0, 0, 0, 0, 0, 0];

export function compareSex(a: MatchFeatures, b: MatchFeatures): number {
  if (!a.s || !b.s) return MISSING;
  return a.s === b.s ? 0 : 1;
}

export function comparePostcode(a: MatchFeatures, b: MatchFeatures): number {
  const x = a.pc;
  const y = b.pc;
  if (!x || !y) return MISSING;
  if (x === y) return 0;
  const outward = a.po ?? 0;
  const uk = outward > 0 && outward === (b.po ?? 0);
  // The sector is the outward code plus the inward code's first digit.
  if (uk && samePrefix(x, y, outward + 1)) return 1;
  if (oneEditApart(x, y)) return 2;
  if (uk && samePrefix(x, y, outward)) return 3;
  if ((a.po ?? 0) > 0 && (b.po ?? 0) > 0) {
    const area = areaLength(x);
    if (area === areaLength(y) && samePrefix(x, y, area)) return 4;
  }
  return 5;
}

export function compareAddress(a: MatchFeatures, b: MatchFeatures): number {
  const hasA = a.hn !== undefined || a.st !== undefined;
  const hasB = b.hn !== undefined || b.st !== undefined;
  if (!hasA || !hasB) return MISSING;
  const sameNumber = a.hn !== undefined && b.hn !== undefined && sharesWord(a.hn, b.hn);
  const streetSimilarity = a.st !== undefined && b.st !== undefined ? streetWordsSimilarity(a.st, b.st) : 0;
  if (sameNumber && streetSimilarity === 1 && sameWords(a.hn, b.hn)) return 0;
  const similarStreet = streetSimilarity >= STREET_SIMILAR;
  if (sameNumber && similarStreet) return 1;
  if (similarStreet) return 2;
  if (sameNumber) return 3;
  return 4;
}

function sharesWord(x: readonly string[], y: readonly string[]): boolean {
  for (const w of x) if (y.includes(w)) return true;
  return false;
}

function sameWords(x: readonly string[] | undefined, y: readonly string[] | undefined): boolean {
  if (x === undefined || y === undefined) return x === y;
  if (x.length !== y.length) return false;
  for (const w of x) if (!y.includes(w)) return false;
  return true;
}

/** Word-set similarity, or for words split or run together ("Braeside" / "Brae Side") that of the joined words. */
function streetWordsSimilarity(x: readonly string[], y: readonly string[]): number {
  const bySet = wordSetSimilarity(x, y);
  // Only a different number of words can mean words split or run together.
  if (bySet >= STREET_SIMILAR || x.length === y.length) return bySet;
  return Math.max(bySet, jaroWinkler(x.join(''), y.join('')));
}

/**
 * Monge-Elkan similarity of two word lists, order-free: each word of the shorter list
 * scored by its best Jaro-Winkler match in the other, averaged. 1 when every word of
 * the shorter list is in the longer one ("main street" within "main street, kirkliston").
 */
export function wordSetSimilarity(x: readonly string[], y: readonly string[]): number {
  const [short, long] = x.length <= y.length ? [x, y] : [y, x];
  if (short.length === 0) return 0;
  let total = 0;
  for (const w of short) {
    if (long.includes(w)) {
      total += 1;
      continue;
    }
    let best = 0;
    for (const v of long) {
      const s = w === v ? 1 : jaroWinkler(w, v);
      if (s > best) best = s;
      if (best === 1) break;
    }
    total += best;
  }
  return total / short.length;
}

export function compareTown(a: MatchFeatures, b: MatchFeatures): number {
  if (!a.tn || !b.tn) return MISSING;
  if (a.tn === b.tn) return 0;
  return jaroWinkler(a.tn, b.tn) >= TOWN_SIMILAR ? 1 : 2;
}

export function comparePhone(a: MatchFeatures, b: MatchFeatures): number {
  if (!a.ph || !b.ph) return MISSING;
  return a.ph === b.ph ? 0 : 1;
}

/**
 * Are forename and family name swapped between the two records (a form filled in the
 * wrong order, or a system that stores "surname, forename")? True when the names agree
 * poorly as given but well crosswise: both cross pairs close, at least one similar.
 */
export function namesSwapped(a: MatchFeatures, b: MatchFeatures): boolean {
  if (!a.g || !a.f || !b.g || !b.f) return false;
  if (a.g === b.g || a.f === b.f) return false;
  const direct = jaroWinkler(a.g, b.g) + jaroWinkler(a.f, b.f);
  const cross1 = a.g === b.f ? 1 : jaroWinkler(a.g, b.f);
  const cross2 = a.f === b.g ? 1 : jaroWinkler(a.f, b.g);
  if (cross1 < NAME_CLOSE || cross2 < NAME_CLOSE) return false;
  if (cross1 < NAME_SIMILAR && cross2 < NAME_SIMILAR) return false;
  return cross1 + cross2 > direct;
}

/** Agreement level of two names compared crosswise, on the given-name scale. */
export function compareGivenCrosswise(name: string, code: string | undefined, other: string, otherCode: string | undefined): number {
  if (name === other) return 0;
  const jw = jaroWinkler(name, other);
  if (jw >= NAME_SIMILAR) return 2;
  if (jw >= NAME_CLOSE || (code !== undefined && code === otherCode)) return 3;
  return 6;
}

/** Agreement level of two names compared crosswise, on the family-name scale. */
export function compareFamilyCrosswise(name: string, code: string | undefined, other: string, otherCode: string | undefined): number {
  if (name === other) return 0;
  const jw = jaroWinkler(name, other);
  if (jw >= NAME_SIMILAR) return 2;
  if (jw >= NAME_CLOSE || (code !== undefined && code === otherCode)) return 3;
  return 4;
}

/** The comparators in `FIELD_NAMES` order. */
export const COMPARATORS: Readonly<Record<FieldName, (a: MatchFeatures, b: MatchFeatures) => number>> = {
  chi: compareChi,
  given: compareGiven,
  family: compareFamily,
  birthDate: compareBirthDate,
  sex: compareSex,
  postcode: comparePostcode,
  address: compareAddress,
  town: compareTown,
  phone: comparePhone,
};

/** Is `word` one of the space-separated words of `words`? (No allocation.) */
function hasWord(words: string, word: string): boolean {
  let from = 0;
  for (;;) {
    const at = words.indexOf(word, from);
    if (at < 0) return false;
    const end = at + word.length;
    if ((at === 0 || words.charCodeAt(at - 1) === 32) && (end === words.length || words.charCodeAt(end) === 32)) {
      return true;
    }
    from = at + 1;
  }
}

/** Number of fields; size of the level buffer `compareAll` fills. */
export const FIELD_COUNT = FIELD_NAMES.length;

const FIELD_INDEX: Readonly<Record<FieldName, number>> = Object.fromEntries(
  FIELD_NAMES.map((name, i) => [name, i]),
) as Record<FieldName, number>;

/** Position of a field in `FIELD_NAMES` (and in level buffers). */
export function fieldIndex(field: FieldName): number {
  return FIELD_INDEX[field];
}

const GIVEN = FIELD_INDEX.given;
const FAMILY = FIELD_INDEX.family;
const COMPARATOR_LIST = FIELD_NAMES.map((name) => COMPARATORS[name]);

/**
 * Every field's level into `out` (indexed as `FIELD_NAMES`), comparing forename with
 * family name crosswise when the names look swapped. Returns whether they were.
 */
export function compareAll(a: MatchFeatures, b: MatchFeatures, out: Int8Array): boolean {
  for (let i = 0; i < FIELD_COUNT; i++) out[i] = COMPARATOR_LIST[i]!(a, b);
  const given = out[GIVEN]!;
  const family = out[FAMILY]!;
  // Only look for a swap when the names disagree as given (cheap test first).
  if (given >= 3 && family >= 3 && namesSwapped(a, b)) {
    out[GIVEN] = compareGivenCrosswise(a.g!, a.gp, b.f!, b.fp);
    out[FAMILY] = compareFamilyCrosswise(a.f!, a.fp, b.g!, b.gp);
    return true;
  }
  return false;
}
