/**
 * Field comparators: each turns a pair of records' features into an agreement level
 * (an index into `FIELD_LEVELS[field]`, best agreement first) or `MISSING` when either
 * side lacks the value (missing data is no evidence either way). The Fellegi–Sunter
 * model gives every level its weight; the comparators only say how the values agree.
 */
import type { MatchFeatures } from './features.js';
import { areaLength, samePrefix } from './postcode.js';
import { sameByNameLookup } from './names.js';
import { jaroWinkler } from './similarity.js';

export const FIELD_LEVELS = {
  /** CHI number: equal, one keying error apart (not a valid pair of CHIs, but seen in extracts), different. */
  chi: ['exact', 'near', 'different'],
  /**
   * First forename: nickname (Rab / Robert by `nicknames.json`'s groups, Effie / Euphemia by the
   * sourced lookup of nicknames and diminutives), similar (Jaro-Winkler ≥ 0.92: one typo),
   * close (≥ 0.80 or the same NYSIIS code), initial (one side is an initial),
   * other-forename (one's first forename is the other's middle name).
   */
  given: ['exact', 'nickname', 'similar', 'close', 'initial', 'other-forename', 'different'],
  /** Family name after Mc/Mac normalisation; part = one part of a double-barrelled name (Smith / Smith-Jones). */
  family: ['exact', 'part', 'similar', 'close', 'different'],
  /**
   * Birth date: day and month transposed, one-year slip, one digit mistyped (or two adjacent
   * digits swapped), partial (one side has only YYYY or YYYY-MM and the parts present agree),
   * different (one part wrong beyond those slips — the day, the month or the year alone — or a
   * 1 January estimate, or partial dates that disagree), apart (full dates no single slip or
   * estimate turns into each other: `birthDatesApart`). EM learns what `apart` is worth from the
   * data: where namesakes of another generation share homes (a son named after his father) it
   * is far stronger evidence of two people than `different`; where a person's date is corrupted
   * in several parts at once (FEBRL) it is hardly stronger.
   */
  birthDate: ['exact', 'transposed', 'year-slip', 'one-digit', 'partial', 'different', 'apart'],
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
  /**
   * Where the two records say the person lives, as ONE comparison (derived from the postcode,
   * address, town and phone levels; see `residenceLevel`): same address, nearly the same
   * address (a house number in common, street similar), same phone number,
   * same postcode unit (addresses not both known, or only partly agreeing), same postcode unit
   * but a different address ("neighbour"), same sector (or a postcode one character apart), same district (or,
   * without a postcode, the same town), same area, different. Two people of one household
   * agree on postcode, address and phone all at once — that is what sharing a home means — so
   * scoring those fields as independent counts one fact three or four times (Fellegi–Sunter's
   * conditional independence fails for non-matches here). Scored once, with m estimated by EM
   * and u measured on random pairs for the combined level, a shared home weighs what it is
   * worth: evidence of one household, not of one person.
   */
  residence: ['address', 'near-address', 'phone', 'postcode', 'neighbour', 'sector', 'district', 'area', 'different'],
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

export function compareChi(a: Pick<MatchFeatures, 'chi'>, b: Pick<MatchFeatures, 'chi'>): number {
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
  if ((a.gn !== undefined && b.gn !== undefined && sharesWord(a.gn, b.gn)) || sameByNameLookup(x, y)) return 1;
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
  return oneSlipOrEstimate(a.y, am, ad, b.y, bm, bd) ? 5 : 6;
}

/**
 * Are two full birth dates two people's, whatever else agrees (level `apart`)? Yes when no
 * single recording slip turns one into the other: they differ in the year by more than a one-year
 * slip and in the day or month too, and are not one digit or one transposition apart
 * (`compareBirthDate`). A slip touches one part of a date; an estimated date keeps the year and
 * writes 1 January for the day and month nobody knew — so a 1 January date is never read as
 * another person's (its year may be a guess too).
 */
export function birthDatesApart(ay: number, am: number, ad: number, by: number, bm: number, bd: number): boolean {
  return !oneSlipOrEstimate(ay, am, ad, by, bm, bd) && !oneDigitApart(ay * 10000 + am * 100 + ad, by * 10000 + bm * 100 + bd);
}

/** Do two full dates differ in one part only (the year by one, or the day and month not at all), or is either a 1 January estimate? */
function oneSlipOrEstimate(ay: number, am: number, ad: number, by: number, bm: number, bd: number): boolean {
  return Math.abs(ay - by) <= 1 || (am === bm && ad === bd) || (am === 1 && ad === 1) || (bm === 1 && bd === 1);
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
  // Not `[short, long] = …`: destructuring made an array per call (a fifth of a KB per record allocated).
  const short = x.length <= y.length ? x : y;
  const long = short === x ? y : x;
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
  residence: compareResidence,
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

/**
 * The fields the residence comparison is derived from. They are always compared (the residence
 * level is read off their levels, and a reviewer sees each one's values); a model scores either
 * `residence` (where people share homes) or these one by one (`FIELD_BY_FIELD`), never both.
 */
export const RESIDENCE_PARTS: readonly FieldName[] = ['postcode', 'address', 'town', 'phone'];

/** The fields a model scores where people share homes: every field but the residence parts. */
export const SCORED_FIELDS: readonly FieldName[] = (Object.keys(FIELD_LEVELS) as FieldName[]).filter((f) => !RESIDENCE_PARTS.includes(f));

/**
 * The fields a model scores where the data show no shared homes (records of people drawn one by
 * one, as in FEBRL): the parts one by one, which there agree independently for non-matches.
 */
export const FIELD_BY_FIELD: readonly FieldName[] = (Object.keys(FIELD_LEVELS) as FieldName[]).filter((f) => f !== 'residence');

const POSTCODE_EXACT = 0;
const POSTCODE_SECTOR = 1;
const POSTCODE_TYPO = 2;
const POSTCODE_DISTRICT = 3;
const POSTCODE_AREA = 4;
const ADDRESS_NUMBER_STREET = 1;
const ADDRESS_DIFFERENT = 4;
const TOWN_LEVEL_SIMILAR = 1;
const RESIDENCE = { address: 0, nearAddress: 1, phone: 2, postcode: 3, neighbour: 4, sector: 5, district: 6, area: 7, different: 8 } as const;

/**
 * The residence level from the parts' levels, the most specific shared place first: the same
 * address (house number and street, within the same postcode sector — or the same town when a
 * side has no postcode), else the same phone number, else the postcode's finest common part (the
 * same unit split by whether the addresses are known to differ: a neighbour is not someone whose
 * address one agency did not record);
 * without a postcode on one side, the same town counts as the same district. MISSING when the
 * records have no place in common to compare.
 */
export function residenceLevel(postcode: number, address: number, town: number, phone: number): number {
  const sameStreetAddress = address !== MISSING && address <= ADDRESS_NUMBER_STREET;
  if (sameStreetAddress) {
    const placeAgrees =
      postcode === MISSING ? town === MISSING || town <= TOWN_LEVEL_SIMILAR : postcode === POSTCODE_EXACT || postcode === POSTCODE_SECTOR || postcode === POSTCODE_TYPO;
    if (placeAgrees) return address === 0 ? RESIDENCE.address : RESIDENCE.nearAddress;
  }
  if (phone === 0) return RESIDENCE.phone;
  switch (postcode) {
    case POSTCODE_EXACT:
      return address === ADDRESS_DIFFERENT ? RESIDENCE.neighbour : RESIDENCE.postcode;
    case POSTCODE_SECTOR:
    case POSTCODE_TYPO:
      return RESIDENCE.sector;
    case POSTCODE_DISTRICT:
      return RESIDENCE.district;
    case POSTCODE_AREA:
      return RESIDENCE.area;
    case MISSING:
      if (town !== MISSING) return town <= TOWN_LEVEL_SIMILAR ? RESIDENCE.district : RESIDENCE.different;
      return address !== MISSING || phone !== MISSING ? RESIDENCE.different : MISSING;
    default:
      return RESIDENCE.different;
  }
}

export function compareResidence(a: MatchFeatures, b: MatchFeatures): number {
  return residenceLevel(comparePostcode(a, b), compareAddress(a, b), compareTown(a, b), comparePhone(a, b));
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

const CHI = FIELD_INDEX.chi;
const GIVEN = FIELD_INDEX.given;
const FAMILY = FIELD_INDEX.family;
const BIRTH_DATE = FIELD_INDEX.birthDate;
const SEX = FIELD_INDEX.sex;
const POSTCODE = FIELD_INDEX.postcode;
const ADDRESS = FIELD_INDEX.address;
const TOWN = FIELD_INDEX.town;
const PHONE = FIELD_INDEX.phone;
const RESIDENCE_FIELD = FIELD_INDEX.residence;

/**
 * Every field's level into `out` (indexed as `FIELD_NAMES`), comparing forename with
 * family name crosswise when the names look swapped. Returns whether they were.
 * Each comparator is called by name, not through a table (`COMPARATORS`): the
 * compiler can then inline the small ones into this, the hottest loop of a load
 * (residence is read off its parts' levels, not compared again).
 */
export function compareAll(a: MatchFeatures, b: MatchFeatures, out: Int8Array): boolean {
  out[CHI] = compareChi(a, b);
  const given = (out[GIVEN] = compareGiven(a, b));
  const family = (out[FAMILY] = compareFamily(a, b));
  out[BIRTH_DATE] = compareBirthDate(a, b);
  out[SEX] = compareSex(a, b);
  const postcode = (out[POSTCODE] = comparePostcode(a, b));
  const address = (out[ADDRESS] = compareAddress(a, b));
  const town = (out[TOWN] = compareTown(a, b));
  const phone = (out[PHONE] = comparePhone(a, b));
  out[RESIDENCE_FIELD] = residenceLevel(postcode, address, town, phone);
  // Only look for a swap when the names disagree as given (cheap test first).
  if (given >= 3 && family >= 3 && namesSwapped(a, b)) {
    out[GIVEN] = compareGivenCrosswise(a.g!, a.gp, b.f!, b.fp);
    out[FAMILY] = compareFamilyCrosswise(a.f!, a.fp, b.g!, b.gp);
    return true;
  }
  return false;
}
