/**
 * FHIR search query → search plan, and index hits → matching ids. Pure: the store
 * fetches each range of the plan from Redis and hands the hits back here.
 *
 * Semantics (FHIR R4 search, strict mode):
 * - parameters AND together; comma-separated values OR together; `\,` `\|` `\$`
 *   escape; an empty value is ignored;
 * - token: `code`, `system|code`, `|code` (no system), `system|` (any code);
 * - reference: `Type/id`, an absolute URL ending in `Type/id`, or a plain `id`
 *   (tried against each declared target type; `param:Type=id` narrows it);
 * - date: prefixes `eq` (default), `gt`, `lt`, `ge`, `le`, compared as spans
 *   (see date-range.ts): `eq` the value lies within the query's span, `gt` it
 *   extends after it, `lt` before it; `ge` it ends at or after the query's start,
 *   `le` it starts at or before the query's end (as HAPI does: a period starting
 *   on 1 March is `le2024-03-01`, which R4's stricter wording would exclude);
 * - string: case- and accent-insensitive "starts with" on each extracted value;
 * - `_id`, `_lastUpdated`, `_count` (default 50, at most 1000), `_offset`,
 *   `_total` (`none` omits the total; `estimate` and `accurate` both give the exact
 *   count), `_summary=count` (the total only, no entries; `_summary=false` is the
 *   default). `_format` and `_pretty` change nothing here and are ignored.
 * `_sort=_id` (the order results come in) is honoured; any other `_sort` is refused naming that order.
 * Anything else — an unknown name, a modifier, a chain, `_include` — is
 * a 400 naming the parameter, so a client never gets silently unfiltered results
 * (an unserved name through `unservedSearchParameter`, which `Prefer: handling=lenient`
 * turns into the parameter being ignored).
 */
import { badRequest } from '../fhir/outcome.js';
import { FORMAT_PARAMETERS } from '../fhir/media-types.js';
import { unservedSearchParameter, unservedSort } from '../fhir/unserved-search-parameter.js';
import { dateSpan } from './date-range.js';
import { MEMBER_SEPARATOR } from './keys.js';
import {
  ID_PARAM,
  RESULT_PARAMS,
  normalizeString,
  referenceKey,
  tokenIndexValues,
  type ReferenceParam,
  type ResourceTypeDefinition,
} from './search-params.js';

export const DEFAULT_COUNT = 50;
export const MAX_COUNT = 1000;

/** Query parameters as Express (`req.query`) or `URL.searchParams` gives them. */
export type SearchQuery = URLSearchParams | Readonly<Record<string, unknown>>;

/** One range read from one index. */
export type IndexRange =
  /** Members of a lexical index whose value equals (or starts with) `value`. */
  | { readonly kind: 'lex'; readonly index: string; readonly value: string; readonly match: 'exact' | 'prefix' }
  /** Members of a date index scored within the bounds. */
  | {
      readonly kind: 'score';
      readonly index: string;
      readonly min: number;
      readonly max: number;
      readonly minExclusive?: boolean;
      readonly maxExclusive?: boolean;
    }
  /** The resource `id`, if it exists and is not deleted. */
  | { readonly kind: 'id'; readonly id: string };

/** Resources found in every range of the list (matched value by value). */
export type Alternative = readonly IndexRange[];

/** One query parameter: resources matching any alternative. */
export interface Clause {
  readonly param: string;
  readonly alternatives: readonly Alternative[];
}

/** What a search returns, whatever it searches: the page, and whether to count. */
export interface ResultParams {
  /** Page size (`_count`); 0 with `_summary=count`. */
  readonly count: number;
  readonly offset: number;
  /** Whether to compute the total (`_total=none` turns it off; `_summary=count` always counts). */
  readonly total: boolean;
  /** `_summary=count`: the total only, no entries. */
  readonly summaryCount: boolean;
  /** `_sort` asked for the reverse of the search's own order (`SearchOrder.reverse`): pages are cut from the other end. */
  readonly reversed?: true;
}

export interface SearchPlan extends ResultParams {
  /** All must match. No clauses means every (live) resource of the type. */
  readonly clauses: readonly Clause[];
}


/** The order a search's results come in, as the `_sort` value that asks for it, and the `_sort` value of its reverse. */
export interface SearchOrder {
  readonly type: string;
  readonly by: string;
  readonly reverse: string;
}

/** The `_sort` values of a search in id order (the generic store's, the MPI's, Consent's): ascending, or `-_id` for descending. */
export function idOrder(type: string): SearchOrder {
  return { type, by: ID_PARAM, reverse: `-${ID_PARAM}` };
}

const SORT_PARAM = '_sort';

/** Ids in id order as the plan asks for them: as they are, or reversed (`_sort=-_id`). */
export function inPlanOrder<T>(plan: Pick<ResultParams, 'reversed'>, idOrdered: T[]): T[] {
  return plan.reversed ? idOrdered.reverse() : idOrdered;
}

/** Parses a query into a plan; throws a 400 OperationOutcomeError naming any parameter it cannot honour. */
export function planSearch(definition: ResourceTypeDefinition, query: SearchQuery): SearchPlan {
  const clauses: Clause[] = [];
  // Matches are paged in id order (`matchingIds`, the `live` set): `_sort=_id` asks for what is served.
  const result = new ResultParamsReader(idOrder(definition.type));
  for (const [key, raw] of queryPairs(query)) {
    if (result.read(key, raw)) continue;
    const clause = clauseFor(definition, key, raw);
    if (clause) clauses.push(clause);
  }
  return { clauses, ...result.params() };
}

/**
 * Reads the result parameters every search of every service takes (`_count`,
 * `_offset`, `_total`, `_summary`; `_format` and `_pretty` are ignored), so that
 * searches not served by this store (the MPI's index) answer them the same way.
 */
export class ResultParamsReader {
  /**
   * `sorted`: the search's own fixed order, which `_sort` may ask for (`_sort=_id` where results come in id order:
   * honoured, as it changes nothing) or the reverse of (`-_id`: `reversed`, the search cuts its pages from the other
   * end); any other `_sort` is refused naming both. Unset: `_sort` is not read here, and the search refuses it as a
   * parameter it does not serve.
   */
  constructor(private readonly sorted?: SearchOrder) {}

  private count = DEFAULT_COUNT;
  private offset = 0;
  private total = true;
  private summaryCount = false;
  private reversed = false;

  private readonly seen = new Set<string>();

  /** True when `key` is a result parameter (then it has been read); 400 for a value it cannot honour, or one given twice. */
  read(key: string, raw: string): boolean {
    if (FORMAT_PARAMETERS.has(key)) return true;
    if ((RESULT_PARAMS as readonly string[]).includes(key)) {
      // `?_count=1&_count=2` has no one meaning: refused rather than a guess at which one counts.
      if (this.seen.has(key)) throw badRequest(`'${key}' is given more than once; give it once`, key);
      this.seen.add(key);
    }
    if (key === SORT_PARAM && this.sorted) {
      if (this.seen.has(key)) throw badRequest(`'${key}' is given more than once; give it once`, key);
      this.seen.add(key);
      if (raw !== this.sorted.by && raw !== this.sorted.reverse) throw unservedSort(this.sorted, key, raw);
      this.reversed = raw === this.sorted.reverse;
      return true;
    }
    if (key === '_count') this.count = Math.min(nonNegativeInteger(key, raw), MAX_COUNT);
    else if (key === '_offset') this.offset = nonNegativeInteger(key, raw);
    else if (key === '_total') this.total = totalMode(raw);
    else if (key === '_summary') this.summaryCount = summaryMode(raw);
    else return false;
    return true;
  }

  params(): ResultParams {
    if (this.summaryCount) return { count: 0, offset: 0, total: true, summaryCount: true };
    return { count: this.count, offset: this.offset, total: this.total, summaryCount: false, ...(this.reversed ? { reversed: true } : {}) };
  }
}

/** The clause for one parameter, or undefined when it has no value (FHIR: ignore it). */
function clauseFor(definition: ResourceTypeDefinition, key: string, raw: string): Clause | undefined {
  const { name, modifier, values } = searchParamOf(key, raw);
  const alternatives = (fn: (value: string) => Alternative[]): Clause | undefined =>
    values.length === 0 ? undefined : { param: key, alternatives: values.flatMap(fn) };

  if (name === ID_PARAM) {
    noModifier(key, modifier);
    return alternatives((id) => [[{ kind: 'id', id: unescape(id) }]]);
  }
  const param = definition.params.get(name);
  if (!param) throw unservedSearchParameter(definition.type, key, [ID_PARAM, ...definition.params.keys()]);
  switch (param.type) {
    case 'token':
      noModifier(key, modifier);
      return alternatives((value) => [[tokenRange(name, value)]]);
    case 'reference':
      return alternatives((value) => referenceRanges(param, key, modifier, unescape(value)).map((r) => [r]));
    case 'string':
      noModifier(key, modifier);
      return alternatives((value) => {
        const normalized = normalizeString(unescape(value));
        return normalized ? [[{ kind: 'lex', index: name, value: normalized, match: 'prefix' }]] : [];
      });
    case 'date':
      noModifier(key, modifier);
      return alternatives((value) => dateAlternatives(name, key, unescape(value)));
  }
}

function tokenRange(index: string, raw: string): IndexRange {
  // Built from the index encoding so query and entry agree on every character.
  const exact = (value: string | undefined): IndexRange => ({ kind: 'lex', index, value: value ?? '', match: 'exact' });
  const [system = '', ...rest] = splitUnescaped(raw, '|');
  if (rest.length === 0) return exact(tokenIndexValues({ code: unescape(raw) })[0]);
  const code = unescape(rest.join('|'));
  if (system === '') return exact(tokenIndexValues({ code })[1]);
  const [, systemAndCode] = tokenIndexValues({ system: unescape(system), code });
  if (code === '') return { kind: 'lex', index, value: systemAndCode ?? '', match: 'prefix' };
  return exact(systemAndCode);
}

function referenceRanges(param: ReferenceParam<unknown>, key: string, modifier: string | undefined, value: string): IndexRange[] {
  if (modifier !== undefined && !/^[A-Z][A-Za-z]+$/.test(modifier)) {
    throw badRequest(`Modifier ':${modifier}' is not supported on '${param.name}'`, key);
  }
  const range = (ref: string): IndexRange => ({ kind: 'lex', index: param.name, value: ref, match: 'exact' });
  if (value.includes('/')) {
    const ref = referenceKey(value);
    if (!ref) throw badRequest(`'${value}' is not a reference (Type/id) for '${key}'`, key);
    if (modifier !== undefined && !ref.startsWith(`${modifier}/`)) return [];
    return [range(ref)];
  }
  if (!/^[A-Za-z0-9\-.]{1,64}$/.test(value)) throw badRequest(`'${value}' is not a resource id for '${key}'`, key);
  const types: readonly string[] = modifier !== undefined ? [modifier] : param.targets;
  return types.map((type) => range(`${type}/${value}`));
}

const DATE_PREFIX = /^(eq|ne|gt|lt|ge|le|sa|eb|ap)?(.*)$/;

function dateAlternatives(index: string, key: string, raw: string): Alternative[] {
  const [, prefix = 'eq', text = ''] = DATE_PREFIX.exec(raw) ?? [];
  const span = dateSpan(text);
  if (!span) throw badRequest(`'${raw}' is not a date for '${key}'`, key);
  const lo = `${index}:lo`;
  const hi = `${index}:hi`;
  const within: Alternative = [
    { kind: 'score', index: lo, min: span.lo, max: span.hi },
    { kind: 'score', index: hi, min: span.lo, max: span.hi },
  ];
  const after: Alternative = [{ kind: 'score', index: hi, min: span.hi, max: Infinity, minExclusive: true }];
  const before: Alternative = [{ kind: 'score', index: lo, min: -Infinity, max: span.lo, maxExclusive: true }];
  switch (prefix) {
    case 'eq':
      return [within];
    case 'gt':
      return [after];
    case 'lt':
      return [before];
    case 'ge':
      return [[{ kind: 'score', index: hi, min: span.lo, max: Infinity }]];
    case 'le':
      return [[{ kind: 'score', index: lo, min: -Infinity, max: span.hi }]];
    default:
      throw badRequest(`Date prefix '${prefix}' is not supported for '${key}' (use eq, gt, lt, ge, le)`, key);
  }
}

// ---------------------------------------------------------------------------
// Index hits → ids.

/** Every range the plan reads, in a fixed order; fetch them and pass the hits to `matchingIds`. */
export function planRanges(plan: SearchPlan): IndexRange[] {
  return plan.clauses.flatMap((c) => c.alternatives.flat());
}

/**
 * Ids matching the plan, in stable (code-unit) order, from the members each range
 * of `planRanges(plan)` returned (same order). For `id` ranges the member is the id.
 */
export function matchingIds(plan: SearchPlan, hits: readonly (readonly string[])[]): string[] {
  let next = 0;
  let result: Set<string> | undefined;
  for (const clause of plan.clauses) {
    const ids = new Set<string>();
    for (const alternative of clause.alternatives) {
      let members: Set<string> | undefined;
      for (let i = 0; i < alternative.length; i++) {
        const found = hits[next++] ?? [];
        members = members === undefined ? new Set(found) : new Set(found.filter((m) => members?.has(m)));
      }
      const first = alternative[0];
      if (first && members) for (const m of members) ids.add(idOfMember(first, m));
    }
    result = result === undefined ? ids : new Set([...result].filter((id) => ids.has(id)));
  }
  return [...(result ?? [])].sort(compareIds);
}

/** Stable paging order: code units, the same order Redis gives ids in the `live` set. */
export function compareIds(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function idOfMember(range: IndexRange, member: string): string {
  switch (range.kind) {
    case 'lex':
      return member.slice(member.lastIndexOf(MEMBER_SEPARATOR) + 1);
    case 'score':
      return member.slice(0, member.indexOf(MEMBER_SEPARATOR));
    case 'id':
      return member;
  }
}

/** ZRANGEBYLEX bounds of a lexical range (bytes, since lexical order is by byte). */
export function lexBounds(range: Extract<IndexRange, { kind: 'lex' }>): [string, string | Buffer] {
  if (range.match === 'exact') {
    // value␟id sorts between `value␟` and `value␠` (␠ is the byte after the separator).
    return [`[${range.value}${MEMBER_SEPARATOR}`, `(${range.value}\x20`];
  }
  // 0xff never occurs in UTF-8, so it sorts after every continuation of the prefix.
  return [`[${range.value}`, Buffer.concat([Buffer.from(`(${range.value}`), Buffer.from([0xff])])];
}

/** ZRANGEBYSCORE bounds of a date range. */
export function scoreBounds(range: Extract<IndexRange, { kind: 'score' }>): [string, string] {
  return [scoreBound(range.min, range.minExclusive), scoreBound(range.max, range.maxExclusive)];
}

function scoreBound(value: number, exclusive = false): string {
  const text = value === Infinity ? '+inf' : value === -Infinity ? '-inf' : String(value);
  return exclusive ? `(${text}` : text;
}

// ---------------------------------------------------------------------------
// Query text.

/** The query as key/value pairs (repeated keys repeated); 400 for a value that is not text. */
export function queryPairs(query: SearchQuery): [string, string][] {
  if (query instanceof URLSearchParams) return [...query.entries()];
  return Object.entries(query).flatMap(([key, value]): [string, string][] => {
    if (value === undefined) return [];
    const values = Array.isArray(value) ? value : [value];
    return values.map((v) => {
      if (typeof v !== 'string') throw badRequest(`Search parameter '${key}' has a value that is not text`, key);
      return [key, v];
    });
  });
}

function nonNegativeInteger(key: string, raw: string): number {
  if (!/^\d{1,9}$/.test(raw)) throw badRequest(`'${key}' must be a non-negative integer`, key);
  return Number(raw);
}

function summaryMode(raw: string): boolean {
  if (raw === 'count') return true;
  if (raw === 'false') return false;
  throw badRequest(`'_summary=${raw}' is not supported: use _summary=count (the total only) or leave it out`, '_summary');
}

function totalMode(raw: string): boolean {
  if (raw === 'none') return false;
  if (raw === 'accurate' || raw === 'estimate') return true;
  throw badRequest(`'_total' must be none, estimate or accurate`, '_total');
}

function noModifier(key: string, modifier: string | undefined): void {
  if (modifier !== undefined) throw badRequest(`Modifier ':${modifier}' is not supported on '${key.split(':')[0]}'`, key);
}

/**
 * One search parameter as a query gives it: `name:modifier=a,b` → its name, its
 * modifier and its comma-separated values (trimmed, empty ones dropped, escapes
 * kept for `unescape`); 400 for a key with more than one modifier.
 */
export function searchParamOf(key: string, raw: string): { name: string; modifier: string | undefined; values: string[] } {
  const [name = '', modifier, ...rest] = key.split(':');
  if (rest.length) throw badRequest(`Search parameter '${key}' is not understood`, key);
  const values = splitUnescaped(raw, ',')
    .map((v) => v.trim())
    .filter((v) => v !== '');
  return { name, modifier, values };
}

/** Splits on `separator` not preceded by a backslash; escapes stay for `unescape`. */
export function splitUnescaped(text: string, separator: string): string[] {
  const parts: string[] = [];
  let current = '';
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (ch === '\\' && i + 1 < text.length) {
      current += ch + text[++i];
    } else if (ch === separator) {
      parts.push(current);
      current = '';
    } else {
      current += ch;
    }
  }
  parts.push(current);
  return parts;
}

/** Removes the search escapes (a backslash before a comma, bar, dollar or backslash). */
export function unescape(text: string): string {
  return text.replace(/\\([\\,|$])/g, '$1');
}
