/**
 * FHIR search of agency records (`GET /fhir/Patient?…`) → a plan the index can
 * answer, and the index's answers → the matching ids. Pure: record-search.ts
 * reads what the plan names from Redis.
 *
 * Semantics (FHIR R4 search, strict like the hub's other searches): parameters
 * AND together, comma-separated values OR together.
 * - `identifier`: `system|value` (an agency's system names one record; the CHI
 *   system every record holding that CHI), `value` (any system), `|value` (no
 *   system: no record has one). `system|` (every record of a system) is refused.
 * - `family`, `given`, `name` (family or given), `address-postalcode`: case- and
 *   accent-insensitive "starts with"; `:exact` the whole value, exactly as written.
 *   Postcodes compare without spaces.
 * - `birthdate`: `eq` (default), `gt`, `lt`, `ge`, `le`, as the hub's other date searches.
 * - `gender`: narrows a search (one gender is half the index, so it cannot be the only criterion).
 * - `_id`, and the result parameters every search takes (`_count`, `_offset`, `_total`, `_summary=count`).
 * A search needs at least one parameter other than gender: 400 otherwise (the
 * whole index, paged, is not a question an agency system needs answered).
 */
import type { Patient } from 'fhir/r4.js';
import { badRequest, tooCostly } from '../../../shared/fhir/outcome.js';
import { unservedSearchParameter } from '../../../shared/fhir/unserved-search-parameter.js';
import { IdentifierSystems } from '../../../shared/fhir/systems.js';
import { dateMatches, dateMayMatchWithin, dateSpan, parseDateQuery, type DatePrefix, type DateSpan } from '../../../shared/store/date-range.js';
import { idOrder, inPlanOrder, queryPairs, ResultParamsReader, searchParamOf, splitUnescaped, unescape, type ResultParams, type SearchQuery } from '../../../shared/store/search-plan.js';
import { chiBlockingKey } from './blocking.js';
import { bucketField, bucketMembers, bucketOf, nameTerm, namePartsOf, postcodeTerm, rootField, termField, type TermCode } from './search-terms.js';

/** Where matching records come from. */
export type RecordSource =
  /** One record, if it exists (`_id`, an agency identifier). */
  | { readonly kind: 'record'; readonly id: string }
  /** The records holding a CHI (the blocking index's CHI entry). */
  | { readonly kind: 'chi'; readonly blockingKey: string }
  /** One term's records. */
  | { readonly kind: 'term'; readonly field: string }
  /** The records of every term of `code` starting with `prefix`. */
  | { readonly kind: 'prefix'; readonly code: TermCode; readonly prefix: string }
  /** The records of every birth date satisfying `prefix span`. */
  | { readonly kind: 'dates'; readonly prefix: DatePrefix; readonly span: DateSpan };

/** One query parameter: records from any of its sources. */
export interface RecordClause {
  readonly param: string;
  readonly sources: readonly RecordSource[];
}

export interface PatientSearchPlan extends ResultParams {
  /** All must match (never empty). */
  readonly clauses: readonly RecordClause[];
  /** Checks on the records themselves, after the index (gender, `:exact`). */
  readonly filters: readonly ((record: Patient) => boolean)[];
}

/** What planning needs to know of the partnership. */
export interface IdentifierContext {
  /** Agency identifier system → agency id. */
  readonly systemsByAgency: ReadonlyMap<string, string>;
  /** The record id an agency's local identifier names (from-patient.ts `recordIdFor`). */
  recordIdOf(agencyId: string, value: string): string;
}

/** What a Patient search takes besides the result parameters (listed in the refusal of anything else). */
const SERVED = ['identifier', 'family', 'given', 'name', 'birthdate', 'gender', 'address-postalcode', '_id'];
const GENDERS = new Set(['male', 'female', 'other', 'unknown']);
const STRING_PARAMS: Readonly<Record<string, readonly TermCode[]>> = { family: ['f'], given: ['g'], name: ['f', 'g'], 'address-postalcode': ['p'] };

export function planPatientSearch(query: SearchQuery, context: IdentifierContext): PatientSearchPlan {
  const clauses: RecordClause[] = [];
  const filters: ((record: Patient) => boolean)[] = [];
  // Matches are paged in id order (`matching…Ids` sorts them): `_sort=_id` asks for what is served, `-_id` the reverse.
  const result = new ResultParamsReader(idOrder('Patient'));
  for (const [key, raw] of queryPairs(query)) {
    if (result.read(key, raw)) continue;
    const { name, modifier, values } = searchParamOf(key, raw);
    if (values.length === 0) continue;
    // Own keys only: `?constructor=` or `?toString=` must not find Object.prototype's members.
    const codes = Object.hasOwn(STRING_PARAMS, name) ? STRING_PARAMS[name] : undefined;
    if (codes) {
      if (modifier !== undefined && modifier !== 'exact') throw badRequest(`Modifier ':${modifier}' is not supported on '${name}' (use :exact or none)`, key);
      const texts = values.map(unescape);
      if (modifier === 'exact') {
        clauses.push({ param: key, sources: texts.flatMap((t) => codes.flatMap((code) => exactSource(code, t))) });
        filters.push((record) => texts.some((t) => codes.some((code) => valuesOf(record, code).includes(t))));
      } else {
        clauses.push({ param: key, sources: texts.flatMap((t) => codes.flatMap((code) => prefixSource(code, t))) });
      }
      continue;
    }
    if (modifier !== undefined) throw badRequest(`Modifier ':${modifier}' is not supported on '${name}'`, key);
    switch (name) {
      case '_id':
        clauses.push({ param: key, sources: values.map((v) => ({ kind: 'record', id: unescape(v) })) });
        break;
      case 'identifier':
        clauses.push({ param: key, sources: values.flatMap((v) => identifierSources(v, key, context)) });
        break;
      case 'birthdate':
        clauses.push({ param: key, sources: values.map((v) => dateSource(v, key)) });
        break;
      case 'gender': {
        const genders = values.map(unescape);
        const unknown = genders.find((g) => !GENDERS.has(g));
        if (unknown !== undefined) throw badRequest(`'${unknown}' is not a gender (male, female, other, unknown)`, key);
        filters.push((record) => record.gender !== undefined && genders.includes(record.gender));
        break;
      }
      default:
        throw unservedSearchParameter('Patient', key, SERVED);
    }
  }
  if (clauses.length === 0) {
    throw tooCostly('Search agency records by identifier, name, family, given, birthdate, address-postalcode or _id (gender only narrows such a search)');
  }
  return { clauses, filters, ...result.params() };
}

function prefixSource(code: TermCode, text: string): RecordSource[] {
  const prefix = code === 'p' ? postcodeTerm(text) : nameTerm(text);
  return prefix === undefined ? [] : [{ kind: 'prefix', code, prefix }];
}

function exactSource(code: TermCode, text: string): RecordSource[] {
  const value = code === 'p' ? postcodeTerm(text) : nameTerm(text);
  return value === undefined ? [] : [{ kind: 'term', field: termField(code, value) }];
}

/** The values a record has for a string parameter's code, as written (for `:exact`). */
function valuesOf(record: Patient, code: TermCode): string[] {
  if (code === 'p') return (record.address ?? []).flatMap((a) => (a.postalCode ? [a.postalCode] : []));
  return (record.name ?? []).flatMap((n) => {
    const parts = namePartsOf(n);
    return code === 'f' ? parts.family : parts.given;
  });
}

function identifierSources(raw: string, key: string, context: IdentifierContext): RecordSource[] {
  const [system = '', ...rest] = splitUnescaped(raw, '|');
  const byAgency = (agencyId: string, value: string): RecordSource => ({ kind: 'record', id: context.recordIdOf(agencyId, value) });
  const chi = (value: string): RecordSource => ({ kind: 'chi', blockingKey: chiBlockingKey(value.replace(/\s/g, '')) });
  if (rest.length === 0) {
    // Any system: the CHI, or any agency's local identifier.
    const value = unescape(raw);
    return [chi(value), ...[...context.systemsByAgency.values()].map((agencyId) => byAgency(agencyId, value))];
  }
  const value = unescape(rest.join('|'));
  const sys = unescape(system);
  if (value === '') throw badRequest(`'${key}=${raw}' asks for every record of a system: give the identifier's value too`, key);
  if (sys === '') return []; // `|value`: no system — every identifier here has one.
  if (sys === IdentifierSystems.chi) return [chi(value)];
  const agencyId = context.systemsByAgency.get(sys);
  return agencyId === undefined ? [] : [byAgency(agencyId, value)];
}

function dateSource(raw: string, key: string): RecordSource {
  const parsed = parseDateQuery(unescape(raw));
  if (!parsed) throw badRequest(`'${raw}' is not a date for '${key}'`, key);
  if (parsed.span === undefined) throw badRequest(`Date prefix '${parsed.prefix}' is not supported for '${key}' (use eq, gt, lt, ge, le)`, key);
  return { kind: 'dates', prefix: parsed.prefix, span: parsed.span };
}

// ---------------------------------------------------------------------------
// Reading the index: which fields to read at each step.

/** Step 1: the roots to read (one-letter prefixes and dates need the list of buckets in use). */
export function rootsToRead(plan: PatientSearchPlan): string[] {
  const roots = new Set<string>();
  for (const source of sourcesOf(plan)) {
    if (source.kind === 'prefix' && [...source.prefix].length < 2) roots.add(rootField(source.code));
    if (source.kind === 'dates') roots.add(rootField('b'));
  }
  return [...roots];
}

/** Step 2: the buckets to read, given the roots' values (`roots.get(field)`). */
export function bucketsToRead(plan: PatientSearchPlan, roots: ReadonlyMap<string, string | null>): string[] {
  const buckets = new Set<string>();
  for (const source of sourcesOf(plan)) {
    if (source.kind === 'prefix') {
      if ([...source.prefix].length >= 2) buckets.add(bucketField(source.code, bucketOf(source.code, source.prefix)));
      else for (const b of bucketMembers(roots.get(rootField(source.code)))) if (b.startsWith(source.prefix)) buckets.add(bucketField(source.code, b));
    } else if (source.kind === 'dates') {
      for (const decade of bucketMembers(roots.get(rootField('b')))) {
        const bounds = decadeSpan(decade);
        if (bounds && dateMayMatchWithin(source.prefix, source.span, bounds)) buckets.add(bucketField('b', decade));
      }
    }
  }
  return [...buckets];
}

/** Step 3: per source, the term fields whose records it takes, given the buckets' values. */
export function termsOf(source: RecordSource, buckets: ReadonlyMap<string, string | null>): string[] {
  switch (source.kind) {
    case 'term':
      return [source.field];
    case 'prefix': {
      const fields = [...buckets.keys()].filter((f) => f.startsWith(`~${source.code}:`));
      return fields.flatMap((f) => bucketMembers(buckets.get(f)).filter((v) => v.startsWith(source.prefix)).map((v) => termField(source.code, v)));
    }
    case 'dates': {
      const fields = [...buckets.keys()].filter((f) => f.startsWith('~b:'));
      return fields.flatMap((f) =>
        bucketMembers(buckets.get(f)).flatMap((date) => {
          const span = dateSpan(date);
          return span && dateMatches(source.prefix, source.span, span) ? [termField('b', date)] : [];
        }),
      );
    }
    default:
      return [];
  }
}

/** The ids in a term's `,<id>,<id>…` list. */
export function listIds(raw: string | null | undefined): string[] {
  return raw ? raw.split(',').filter((id) => id !== '') : [];
}

/** Ids found by every clause, given each source's ids (`idsOf`), in stable (code-unit) order — reversed for `_sort=-_id`. */
export function matchingRecordIds(plan: PatientSearchPlan, idsOf: (source: RecordSource) => readonly string[]): string[] {
  let result: Set<string> | undefined;
  for (const clause of plan.clauses) {
    const ids = new Set(clause.sources.flatMap((s) => idsOf(s)));
    result = result === undefined ? ids : new Set([...result].filter((id) => ids.has(id)));
  }
  return inPlanOrder(plan, [...(result ?? [])].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)));
}

/**
 * The agency owning a record id (`<agencyId>.<local part>`, from-patient.ts
 * `recordIdFor`): the longest agency id the record id starts with, then a dot.
 */
export function ownerOfRecordId(id: string, agencyIds: Iterable<string>): string | undefined {
  let owner: string | undefined;
  for (const agency of agencyIds) {
    if (id.startsWith(`${agency}.`) && (owner === undefined || agency.length > owner.length)) owner = agency;
  }
  return owner;
}

function sourcesOf(plan: PatientSearchPlan): RecordSource[] {
  return plan.clauses.flatMap((c) => c.sources);
}

/** A birth-date bucket (`201`) as the span of its decade. */
function decadeSpan(decade: string): DateSpan | undefined {
  if (!/^\d{3}$/.test(decade)) return undefined;
  const first = dateSpan(`${decade}0`);
  const last = dateSpan(`${decade}9`);
  return first && last ? { lo: first.lo, hi: last.hi } : undefined;
}
