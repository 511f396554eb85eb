/**
 * Search parameters a service declares for its resource types, the helpers that
 * pull indexable values out of common FHIR shapes, and the index entries a
 * resource version produces. Pure: the store writes the entries, the search plan
 * (`search-plan.ts`) reads them back with the same encodings.
 *
 * Declare each served type once, beside the service's routes:
 *
 *   export const organizationType = defineResourceType('Organization', [
 *     tokenParam('identifier', (r) => identifiersOf(r.identifier)),
 *     tokenParam('type', (r) => codingsOf(r.type)),
 *     stringParam('name', (r) => [r.name, ...(r.alias ?? [])]),
 *     referenceParam('partof', ['Organization'], (r) => referencesOf(r.partOf)),
 *   ]);
 *
 * Every type also gets `_id` and `_lastUpdated` without declaring them.
 */
import type { CodeableConcept, Coding, FhirResource, HumanName, Identifier, Period, Reference } from 'fhir/r4.js';
import { dateSpan, periodSpan, type DateSpan } from './date-range.js';
import { MEMBER_SEPARATOR } from './keys.js';
import { foldLetters } from '../text-fold.js';

export type ResourceType = FhirResource['resourceType'];
export type ResourceOf<K extends ResourceType> = Extract<FhirResource, { resourceType: K }>;
export type SearchParamType = 'token' | 'reference' | 'date' | 'string';

/** One coding or identifier as search sees it; `system` absent means "no system". */
export interface TokenValue {
  readonly system?: string | undefined;
  readonly code: string;
}

/** A date/dateTime/instant string, or a Period (either end may be open). */
export type DateValue = string | Pick<Period, 'start' | 'end'>;

// Methods (not function-valued properties) so a definition for Organization can sit in a list of definitions for any type.
interface ParamCommon {
  readonly name: string;
}
export interface TokenParam<T> extends ParamCommon {
  readonly type: 'token';
  extract(resource: T): readonly (TokenValue | undefined)[];
}
export interface ReferenceParam<T> extends ParamCommon {
  readonly type: 'reference';
  /** Types the reference may point at; a plain id in a query is tried against each. */
  readonly targets: readonly ResourceType[];
  /** Relative (`Type/id`) or absolute references; anything else is not indexed. */
  extract(resource: T): readonly (string | undefined)[];
}
export interface DateParam<T> extends ParamCommon {
  readonly type: 'date';
  extract(resource: T): readonly (DateValue | undefined)[];
}
export interface StringParam<T> extends ParamCommon {
  readonly type: 'string';
  extract(resource: T): readonly (string | undefined)[];
}
export type SearchParameterDefinition<T> = TokenParam<T> | ReferenceParam<T> | DateParam<T> | StringParam<T>;

/** A served resource type and its search parameters (built-ins included). */
export interface ResourceTypeDefinition<T extends FhirResource = FhirResource> {
  readonly type: ResourceType;
  readonly params: ReadonlyMap<string, SearchParameterDefinition<T>>;
  /**
   * A compact text of each version that a hot read needs instead of the whole resource
   * (the plans service's consent decision reads a person's Consents on every request): the
   * store keeps it beside the current version, written and deleted in the same script.
   */
  projection?(this: void, resource: T): string;
}

/** What a type declares besides its search parameters. */
export interface ResourceTypeOptions<T extends FhirResource> {
  /** See `ResourceTypeDefinition.projection`. Pure and deterministic: it is computed once, when a version is written. */
  readonly projection?: (resource: T) => string;
}

/** Names the store handles itself or the query reserves; a declaration may not reuse them. */
export const RESULT_PARAMS = ['_count', '_offset', '_total', '_summary'] as const;
export const LAST_UPDATED = '_lastUpdated';
export const ID_PARAM = '_id';

const PARAM_NAME = /^[A-Za-z][A-Za-z0-9_-]*$/;

/** Declares a served type with its search parameters; `_id` and `_lastUpdated` come built in. */
export function defineResourceType<K extends ResourceType>(
  type: K,
  params: readonly SearchParameterDefinition<ResourceOf<K>>[],
  options: ResourceTypeOptions<ResourceOf<K>> = {},
): ResourceTypeDefinition<ResourceOf<K>> {
  const map = new Map<string, SearchParameterDefinition<ResourceOf<K>>>();
  for (const param of params) {
    // Declarations are code, so a bad one is a programming error, not a client's 400.
    if (!PARAM_NAME.test(param.name)) throw new Error(`${type}: search parameter name '${param.name}' is not allowed`);
    if (map.has(param.name)) throw new Error(`${type}: search parameter '${param.name}' is declared twice`);
    if (param.type === 'reference' && param.targets.length === 0) throw new Error(`${type}.${param.name}: no target types`);
    map.set(param.name, param);
  }
  map.set(
    LAST_UPDATED,
    dateParam<ResourceOf<K>>(LAST_UPDATED, (r) => [r.meta?.lastUpdated]),
  );
  return options.projection ? { type, params: map, projection: options.projection } : { type, params: map };
}

/** Every search parameter of a type as name and type, `_id` included (for the CapabilityStatement). */
export function searchParamSummary(definition: ResourceTypeDefinition): { name: string; type: SearchParamType }[] {
  return [{ name: ID_PARAM, type: 'token' }, ...[...definition.params.values()].map((p) => ({ name: p.name, type: p.type }))];
}

/** A token parameter (codes, codings, identifiers, booleans). */
export function tokenParam<T>(name: string, extract: (resource: T) => readonly (TokenValue | undefined)[]): TokenParam<T> {
  return { name, type: 'token', extract };
}

/** A reference parameter pointing at `targets`. */
export function referenceParam<T>(
  name: string,
  targets: readonly ResourceType[],
  extract: (resource: T) => readonly (string | undefined)[],
): ReferenceParam<T> {
  return { name, type: 'reference', targets, extract };
}

/** A date parameter (dates, dateTimes, instants, Periods). */
export function dateParam<T>(name: string, extract: (resource: T) => readonly (DateValue | undefined)[]): DateParam<T> {
  return { name, type: 'date', extract };
}

/** A string parameter: case- and accent-insensitive "starts with". */
export function stringParam<T>(name: string, extract: (resource: T) => readonly (string | undefined)[]): StringParam<T> {
  return { name, type: 'string', extract };
}

// ---------------------------------------------------------------------------
// Extract helpers for common shapes.

type Many<T> = T | readonly T[] | undefined;

function flat<T>(values: readonly Many<T>[]): T[] {
  return values.flatMap((v) => (v === undefined ? [] : Array.isArray(v) ? (v as readonly T[]) : [v as T]));
}

/** Codings of CodeableConcepts (or bare Codings), for token parameters. */
export function codingsOf(...concepts: Many<CodeableConcept | Coding>[]): TokenValue[] {
  return flat(concepts).flatMap((c) => {
    const codings: readonly Coding[] = 'code' in c ? [c] : ((c as CodeableConcept).coding ?? []);
    return codings.flatMap((coding) => (coding.code ? [{ system: coding.system, code: coding.code }] : []));
  });
}

/** Identifiers as tokens (`system|value`). */
export function identifiersOf(...identifiers: Many<Identifier>[]): TokenValue[] {
  return flat(identifiers).flatMap((i) => (i.value ? [{ system: i.system, code: i.value }] : []));
}

/** Plain codes and booleans (`status`, `active`) as tokens without a system. */
export function codesOf(...values: (string | boolean | undefined)[]): TokenValue[] {
  return values.flatMap((v) => (v === undefined || v === '' ? [] : [{ code: String(v) }]));
}

/** The `reference` strings of References. */
export function referencesOf(...references: Many<Reference>[]): string[] {
  return flat(references).flatMap((r) => (r.reference ? [r.reference] : []));
}

/** Every searchable part of HumanNames: text, family, given names, prefixes and suffixes. */
export function namesOf(...names: Many<HumanName>[]): string[] {
  return flat(names).flatMap((n) => [n.text, n.family, ...(n.given ?? []), ...(n.prefix ?? []), ...(n.suffix ?? [])].filter(isText));
}

function isText(v: string | undefined): v is string {
  return v !== undefined && v !== '';
}

// ---------------------------------------------------------------------------
// Value encodings, shared by the index entries and the search plan.

/**
 * Token index values: `C<code>` for every coding (query `code`), `S<system>|<code>`
 * for codings with a system (`system|code`, and by prefix `system|`), `N<code>`
 * for codings without one (`|code`).
 */
export function tokenIndexValues(token: TokenValue): string[] {
  const code = clean(token.code);
  return token.system ? [`C${code}`, `S${clean(token.system)}|${code}`] : [`C${code}`, `N${code}`];
}

const REFERENCE = /(?:^|\/)([A-Z][A-Za-z]+)\/([A-Za-z0-9\-.]{1,64})(?:\/_history\/[^/]*)?$/;

/** `Type/id` of a relative or absolute reference (history suffix dropped), or undefined. */
export function referenceKey(reference: string): string | undefined {
  if (reference.startsWith('#') || reference.startsWith('urn:')) return undefined;
  const m = REFERENCE.exec(reference.trim());
  return m ? `${m[1]}/${m[2]}` : undefined;
}

const PRINTABLE_ASCII = /^[\x20-\x7e]*$/;

/** Lower case, accents removed, whitespace collapsed: how string search compares. */
export function normalizeString(value: string): string {
  // Printable ASCII (nearly every name and postcode) has no accents to remove or control characters to clean.
  if (PRINTABLE_ASCII.test(value)) return value.toLowerCase().replace(/\s+/g, ' ').trim();
  return clean(foldLetters(value)).replace(/\s+/g, ' ').trim();
}

/** A date value's span, or undefined when unreadable (then it is not indexed). */
export function dateValueSpan(value: DateValue): DateSpan | undefined {
  return typeof value === 'string' ? dateSpan(value) : periodSpan(value.start, value.end);
}

/** Control characters cannot be searched for and would collide with the member separator. */
function clean(value: string): string {
  // eslint-disable-next-line no-control-regex
  return value.replace(/[\x00-\x1f\x7f]/g, ' ');
}

// ---------------------------------------------------------------------------
// Index entries.

/** One member of one index sorted set. `index` is the logical name (see keys.ts). */
export interface IndexEntry {
  readonly index: string;
  readonly score: number;
  readonly member: string;
}

/** Logical names of every index sorted set of a type, in a fixed order (the Lua script's KEYS). */
export function indexNames(definition: ResourceTypeDefinition): string[] {
  return [...definition.params.values()].flatMap((p) => (p.type === 'date' ? [`${p.name}:lo`, `${p.name}:hi`] : [p.name]));
}

/** The index entries of one resource version (which must carry its id and meta.lastUpdated). */
export function indexEntries<T extends FhirResource>(definition: ResourceTypeDefinition<T>, resource: T): IndexEntry[] {
  const id = resource.id;
  if (!id) throw new Error('indexEntries needs a resource with an id');
  const entries = new Map<string, IndexEntry>();
  const add = (index: string, score: number, member: string): void => {
    entries.set(`${index}\t${member}`, { index, score, member });
  };
  const lexical = (index: string, value: string): void => add(index, 0, `${value}${MEMBER_SEPARATOR}${id}`);

  for (const param of definition.params.values()) {
    switch (param.type) {
      case 'token':
        for (const token of param.extract(resource)) {
          if (token?.code) for (const value of tokenIndexValues(token)) lexical(param.name, value);
        }
        break;
      case 'reference':
        for (const reference of param.extract(resource)) {
          const key = reference === undefined ? undefined : referenceKey(reference);
          if (key) lexical(param.name, key);
        }
        break;
      case 'string':
        for (const text of param.extract(resource)) {
          const value = text === undefined ? '' : normalizeString(text);
          if (value) lexical(param.name, value);
        }
        break;
      case 'date': {
        let n = 0;
        for (const value of param.extract(resource)) {
          const span = value === undefined ? undefined : dateValueSpan(value);
          if (!span) continue;
          // lo and hi of one value share a member, so `eq` can intersect them value by value.
          const member = `${id}${MEMBER_SEPARATOR}${n++}`;
          add(`${param.name}:lo`, span.lo, member);
          add(`${param.name}:hi`, span.hi, member);
        }
        break;
      }
    }
  }
  return [...entries.values()];
}
