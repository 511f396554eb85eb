/**
 * The search index of agency records: the terms a Patient version is filed
 * under, and how the index changes when records are written. Pure: the store
 * applies the changes in the same script that writes the records (store.ts
 * `writeRecords`), the search (record-search.ts) reads them back with these
 * encodings.
 *
 * Three kinds of entry (keys.ts):
 * - a term, `<code>:<value>`: a key of its own (`searchTerm`) holding `,<id>,<id>…`
 *   (each record id preceded by a comma, so a load appends a chunk's ids in place):
 *     f  family name        g  given name (each one)
 *     p  postcode (no spaces)   b  birth date as written (YYYY, YYYY-MM or YYYY-MM-DD)
 *   Names and postcodes are normalised as every FHIR string search in the hub is
 *   (shared/store `normalizeString`: case, accents, white space).
 * - a bucket, `~<code>:<bucket>`: a key of its own (`searchBucket`) holding
 *   `␟value␟value…`, the values of one code in use, grouped by their first two
 *   characters (a birth date: its decade), so a "starts with" or a date range
 *   finds its terms without scanning the index; appended in place as well;
 * - a root, `~<code>` → `␟bucket␟…`: the buckets in use (for one-letter prefixes
 *   and open date ranges), a field of one hash (`search`).
 * A term is added to its bucket when its list is created and taken out when it
 * empties, so the buckets hold exactly the values some record has. Every change
 * is a set operation: applying the same change twice leaves the same index.
 *
 * Gender is not a term: one gender is half the index, a list no search could
 * page cheaply. It narrows a search on the records found by the others.
 */
import type { HumanName, Patient } from 'fhir/r4.js';
import { normalizeString } from '../../../shared/store/search-params.js';
import { dateSpan } from '../../../shared/store/date-range.js';

export type TermCode = 'f' | 'g' | 'p' | 'b';

/** Longer values are filed (and looked up) by their first 100 characters. */
export const MAX_TERM_LENGTH = 100;

/** Separates the values in a bucket and the buckets in a root (never in a normalised value: control characters are removed). */
export const BUCKET_SEPARATOR = '\x1f';

export function termField(code: TermCode, value: string): string {
  return `${code}:${value}`;
}

/** A name as the index files it (and a query looks it up), or undefined when nothing is left. */
export function nameTerm(text: string): string | undefined {
  return cut(normalizeString(text));
}

/** A postcode as the index files it: a name's normalisation without spaces (`EH6 5DT` and `eh65dt` are one). */
export function postcodeTerm(text: string): string | undefined {
  return cut(normalizeString(text).replace(/ /g, ''));
}

function cut(value: string): string | undefined {
  if (value === '') return undefined;
  return value.length <= MAX_TERM_LENGTH ? value : firstCodePoints(value, MAX_TERM_LENGTH);
}

/** The first `n` code points of `value` (a surrogate pair is one), without splitting it into an array of characters. */
function firstCodePoints(value: string, n: number): string {
  let end = 0;
  for (let k = 0; k < n && end < value.length; k++) end += value.codePointAt(end)! > 0xffff ? 2 : 1;
  return value.slice(0, end);
}

/** The term fields a Patient version is filed under (each once). */
export function recordTerms(patient: Patient | undefined): string[] {
  if (!patient) return [];
  const terms = new Set<string>();
  const add = (code: TermCode, value: string | undefined) => {
    if (value !== undefined) terms.add(termField(code, value));
  };
  for (const name of patient.name ?? []) {
    const { family, given } = namePartsOf(name);
    for (const f of family) add('f', nameTerm(f));
    for (const g of given) add('g', nameTerm(g));
  }
  if (patient.birthDate && dateSpan(patient.birthDate)) add('b', patient.birthDate);
  for (const address of patient.address ?? []) if (address.postalCode) add('p', postcodeTerm(address.postalCode));
  return [...terms];
}

/** Family and given names of a HumanName; a name given only as text is split as matching reads it (last word the family name). */
export function namePartsOf(name: HumanName): { family: string[]; given: string[] } {
  const given = (name.given ?? []).filter((g) => g.trim() !== '');
  const family = name.family?.trim() ? [name.family] : [];
  if (family.length > 0 || given.length > 0) return { family, given };
  const words = name.text?.trim() ? name.text.trim().split(/\s+/) : [];
  return { family: words.slice(-1), given: words.slice(0, -1) };
}

/** The bucket a term's value belongs to: its first two characters; a birth date's decade (`201` for 2014-03-07). The store's script derives it the same way. */
export function bucketOf(code: TermCode, value: string): string {
  return code === 'b' ? value.slice(0, 3) : firstCodePoints(value, 2);
}

export function bucketField(code: TermCode, bucket: string): string {
  return `~${code}:${bucket}`;
}

export function rootField(code: TermCode): string {
  return `~${code}`;
}

/** A root field (`~f`): a field of the search hash; buckets and terms are keys of their own. */
export function isSearchRoot(field: string): boolean {
  return field.startsWith('~') && !field.includes(':');
}

/** A bucket field (`~f:sm`). */
export function isSearchBucket(field: string): boolean {
  return field.startsWith('~') && field.includes(':');
}

/** The members of a bucket or root field's value. */
export function bucketMembers(raw: string | null | undefined): string[] {
  return raw ? raw.split(BUCKET_SEPARATOR).filter((v) => v !== '') : [];
}

/** One term list's change. (The store's script files a created term in its bucket and an emptied one out.) */
export interface TermChange {
  readonly field: string;
  /** The term's bucket, `<code>:<bucket>` (bucketOf; its field is `~` and this). */
  readonly bucket: string;
  readonly adds: readonly string[];
  readonly removes: readonly string[];
}

/**
 * What a record write does to the index: the terms of the new version in, those only the
 * previous version had out. `terms`, when given, are the new version's (recordTerms).
 */
export function termChanges(
  writes: readonly { readonly patient: Patient; readonly previous?: Patient; readonly terms?: readonly string[] }[],
): TermChange[] {
  const changes = new Map<string, { adds: string[]; removes: string[] }>();
  const change = (field: string) => {
    let c = changes.get(field);
    if (!c) changes.set(field, (c = { adds: [], removes: [] }));
    return c;
  };
  for (const w of writes) {
    const id = w.patient.id!;
    const now = w.terms ?? recordTerms(w.patient);
    // A new record (every record of a first load, under the index lock) only adds: its terms are distinct already.
    if (!w.previous) {
      for (const t of now) change(t).adds.push(id);
      continue;
    }
    const before = new Set(recordTerms(w.previous));
    const kept = new Set(now);
    for (const t of before) if (!kept.has(t)) change(t).removes.push(id);
    for (const t of now) if (!before.has(t)) change(t).adds.push(id);
  }
  return [...changes].map(([field, c]) => ({ field, bucket: `${field.charAt(0)}:${bucketOf(field.charAt(0) as TermCode, field.slice(2))}`, ...c }));
}
