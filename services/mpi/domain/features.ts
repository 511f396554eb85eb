/**
 * Precomputed matching features of one record: everything the comparators and the
 * blocking keys need, normalised once when a record is registered so the comparison
 * loop does no string work beyond similarity. JSON-serialisable and compact (short
 * property names, absent values left out) because the MPI keeps one per record in
 * Redis: typically 150-300 bytes as JSON.
 */
import { foldLetters } from '../../../shared/text-fold.js';
import { isValidChi } from './chi.js';
import { familyParts, mayHaveFamilyParts, nameWords, nicknameGroups, normaliseFamily } from './names.js';
import { nysiis } from './phonetic.js';
import { parsePostcode } from './postcode.js';
import type { DemographicRecord } from './record.js';

export interface MatchFeatures {
  /** Record id. */
  readonly id: string;
  /** Agency id. */
  readonly ag?: string;
  /** CHI number (or, in benchmarks, another national identifier). */
  readonly chi?: string;
  /**
   * Set when `chi` is not a valid CHI (a benchmark's national identifier without a check digit: the
   * MPI refuses an invalid CHI). Two such identifiers that differ may be one number mistyped, so
   * the rule that never links two different CHIs does not apply to them (engine.ts `chiConflict`).
   */
  readonly cn?: true;
  /** First forename, normalised. */
  readonly g?: string;
  /** Other forenames, normalised, space-separated. */
  readonly go?: string;
  /** NYSIIS code of the first forename. */
  readonly gp?: string;
  /** Canonical names of the nickname groups of the first forename (absent if in none). */
  readonly gn?: readonly string[];
  /** Family name, normalised (Mc/Mac/M' → mac, no separators). */
  readonly f?: string;
  /** NYSIIS code of the family name. */
  readonly fp?: string;
  /** Parts of a double-barrelled family name (absent for a single-part name). */
  readonly fs?: readonly string[];
  /** Birth year, month, day (each absent when unknown). */
  readonly y?: number;
  readonly m?: number;
  readonly d?: number;
  /** Sex: only male / female carry evidence. */
  readonly s?: 'm' | 'f';
  /** Postcode, upper case without spaces. */
  readonly pc?: string;
  /** Outward-code length within `pc`; 0 for a code that is not a UK postcode. */
  readonly po?: number;
  /** House / flat numbers of the address line (["2/1", "14"]). */
  readonly hn?: readonly string[];
  /** Words of the address line other than numbers, abbreviations expanded (["main", "street"]). */
  readonly st?: readonly string[];
  /** Town, normalised. */
  readonly tn?: string;
  /** Phone: national significant digits (no +44 or leading 0). */
  readonly ph?: string;
}

/** Every property of `MatchFeatures` required (a new one must be added to `emptyFeatures`), undefined allowed. */
type MutableFeatures = { id: string } & { -readonly [K in Exclude<keyof MatchFeatures, 'id'>]-?: MatchFeatures[K] | undefined };

/**
 * A record's features with every property present, in one order, undefined where the record has no
 * value: one hidden class for every record, whatever it holds. Built property by property as values
 * were found, the synthetic set's 28,687 records made 149 shapes, so every read of a feature in the
 * comparison loop went through V8's megamorphic lookup (callgrind: −10.5 % instructions for the
 * synthetic registration loop with one shape). JSON leaves undefined out: the stored form is as before.
 */
function emptyFeatures(id: string): MutableFeatures {
  // In the order toFeatures used to add them: the JSON is byte for byte as before (registration compares stored
  // features with new ones by their JSON).
  return {
    id,
    ag: undefined,
    chi: undefined,
    cn: undefined,
    g: undefined,
    gp: undefined,
    gn: undefined,
    go: undefined,
    f: undefined,
    fp: undefined,
    fs: undefined,
    y: undefined,
    m: undefined,
    d: undefined,
    s: undefined,
    pc: undefined,
    po: undefined,
    hn: undefined,
    st: undefined,
    tn: undefined,
    ph: undefined,
  };
}

/**
 * Features read back from their stored JSON, with the one hidden class `toFeatures` gives them (`emptyFeatures`'
 * properties, in its order, undefined where the JSON has no value). `JSON.parse` alone makes one shape per set of
 * values present (~150 in a load), so every feature read of a stored candidate in the comparison loop went through
 * V8's megamorphic lookup. `JSON.stringify` of the result is the stored JSON (written from such an object). A
 * property the features do not have (none is ever written) is not kept.
 */
export function featuresFromJson(json: string): MatchFeatures {
  const p = JSON.parse(json) as MutableFeatures;
  // One literal in emptyFeatures' order: the same hidden class (a test holds the two to the same keys in the same order).
  const features: MutableFeatures = {
    id: p.id,
    ag: p.ag,
    chi: p.chi,
    cn: p.cn,
    g: p.g,
    gp: p.gp,
    gn: p.gn,
    go: p.go,
    f: p.f,
    fp: p.fp,
    fs: p.fs,
    y: p.y,
    m: p.m,
    d: p.d,
    s: p.s,
    pc: p.pc,
    po: p.po,
    hn: p.hn,
    st: p.st,
    tn: p.tn,
    ph: p.ph,
  };
  return features;
}

export function toFeatures(record: DemographicRecord): MatchFeatures {
  const features = emptyFeatures(record.id);
  if (record.agency) features.ag = record.agency;
  const chi = record.chi?.replace(/\s/g, '');
  if (chi) {
    features.chi = chi;
    if (!isValidChi(chi)) features.cn = true;
  }

  const forenames: string[] = [];
  for (const given of record.given) for (const word of nameWords(given)) forenames.push(word);
  const first = forenames[0];
  if (first) {
    features.g = first;
    features.gp = nysiis(first);
    const groups = nicknameGroups(first);
    if (groups.length > 0) features.gn = groups;
    if (forenames.length > 1) features.go = forenames.slice(1).join(' ');
  }

  if (record.family) {
    const family = normaliseFamily(record.family);
    if (family) {
      features.f = family;
      features.fp = nysiis(family);
      if (mayHaveFamilyParts(record.family)) {
        const parts = familyParts(record.family);
        if (parts.length > 1) features.fs = parts;
      }
    }
  }

  const dob = parseBirthDate(record.birthDate);
  if (dob.y !== undefined) features.y = dob.y;
  if (dob.m !== undefined) features.m = dob.m;
  if (dob.d !== undefined) features.d = dob.d;

  if (record.gender === 'male') features.s = 'm';
  else if (record.gender === 'female') features.s = 'f';

  const postcode = record.postcode ? parsePostcode(record.postcode) : undefined;
  if (postcode) {
    features.pc = postcode.code;
    features.po = postcode.outwardLength;
  }

  if (record.addressLine) {
    const address = splitAddress(record.addressLine);
    if (address.numbers.length > 0) features.hn = address.numbers;
    if (address.street.length > 0) features.st = address.street;
  }

  if (record.town) {
    const town = foldLetters(record.town).replace(/[^a-z]/g, '');
    if (town) features.tn = town;
  }

  const phone = normalisePhone(record.phone);
  if (phone) features.ph = phone;
  return features;
}

/**
 * Dates systems store when the birth date is not known: the "01/01/1900" default of many
 * registration screens, spreadsheet and database zero dates (30 and 31 December 1899, 1 January
 * 1800, 1 January 1753: SQL Server's smallest date). Nobody in a register was born on them, so
 * they are read as no birth date: compared as a real date, two records of one person with and
 * without the placeholder disagree outright on the birth date, which is the evidence that keeps a
 * father and his namesake son apart.
 */
export const PLACEHOLDER_BIRTH_DATES: ReadonlySet<string> = new Set(['1900-01-01', '1899-12-31', '1899-12-30', '1800-01-01', '1753-01-01']);

/**
 * Year, month and day of YYYY, YYYY-MM or YYYY-MM-DD (a dateTime's date part also works);
 * nothing for a placeholder date (`PLACEHOLDER_BIRTH_DATES`).
 */
export function parseBirthDate(value: string | undefined): { y?: number; m?: number; d?: number } {
  if (!value) return {};
  const match = /^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?/.exec(value.trim());
  if (!match) return {};
  // With a day, the match is exactly YYYY-MM-DD.
  if (match[3] !== undefined && PLACEHOLDER_BIRTH_DATES.has(match[0])) return {};
  const y = Number(match[1]);
  const m = match[2] ? Number(match[2]) : undefined;
  const d = match[3] ? Number(match[3]) : undefined;
  if (m !== undefined && (m < 1 || m > 12)) return { y };
  const date: { y?: number; m?: number; d?: number } = { y };
  if (m !== undefined) date.m = m;
  if (d !== undefined && d >= 1 && d <= 31) date.d = d;
  return date;
}

const STREET_ABBREVIATIONS: Readonly<Record<string, string>> = {
  st: 'street',
  str: 'street',
  rd: 'road',
  ave: 'avenue',
  av: 'avenue',
  cres: 'crescent',
  cresc: 'crescent',
  cr: 'crescent',
  dr: 'drive',
  pl: 'place',
  terr: 'terrace',
  ter: 'terrace',
  tce: 'terrace',
  gdns: 'gardens',
  gds: 'gardens',
  ct: 'court',
  crt: 'court',
  ln: 'lane',
  sq: 'square',
  pk: 'park',
  wynd: 'wynd',
  brae: 'brae',
  cl: 'close',
  gr: 'grove',
  gro: 'grove',
  hts: 'heights',
  pde: 'parade',
  cir: 'circle',
  cct: 'circuit',
  mt: 'mount',
  n: 'north',
  s: 'south',
  e: 'east',
  w: 'west',
};

/**
 * The same as a Map: own keys only (a street called Constructor must not find
 * Object.prototype.constructor), and a fresh string looked up by its hash rather than through
 * the property-name table an object's keys need (every record's address words are looked up).
 */
const STREET_WORDS: ReadonlyMap<string, string> = new Map(Object.entries(STREET_ABBREVIATIONS));

/** Words that say what kind of unit follows, not where it is. */
const UNIT_WORDS = new Set(['flat', 'flt', 'apartment', 'apt', 'unit', 'no', 'number']);

/**
 * House/flat numbers and the other words of an address line ("Flat 2/1, 14 Main St" →
 * ["2/1", "14"], ["main", "street"]). Words are kept in order but compared as a set,
 * because systems put a building name or locality before or after the street.
 */
export function splitAddress(line: string): { numbers: string[]; street: string[] } {
  const tokens = foldLetters(line)
    .split(/[^a-z0-9/]+/)
    .filter((t) => t.length > 0);
  const numbers: string[] = [];
  const words: string[] = [];
  for (const token of tokens) {
    if (/\d/.test(token)) numbers.push(token);
    else if (!UNIT_WORDS.has(token)) {
      const word = token.replace(/\//g, '');
      if (word) words.push(STREET_WORDS.get(word) ?? word);
    }
  }
  return { numbers, street: words };
}

/** National significant number: digits only, without +44 / 0044 or the trunk 0. */
export function normalisePhone(value: string | undefined): string | undefined {
  if (!value) return undefined;
  let digits = value.replace(/\D/g, '');
  if (digits.startsWith('0044')) digits = digits.slice(4);
  else if (digits.startsWith('44') && digits.length >= 12) digits = digits.slice(2);
  if (digits.startsWith('0')) digits = digits.slice(1);
  return digits.length >= 6 ? digits : undefined;
}
