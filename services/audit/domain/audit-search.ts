/**
 * `GET /fhir/AuditEvent?…` read into a plan over the audit service's indexes. Pure;
 * every parameter it cannot honour is a 400 OperationOutcome naming it.
 *
 *   date=ge2026-12-01&date=lt2026-12-02   when recorded (eq, gt, lt, ge, le; repeat to AND)
 *   agent=nhs-lothian | Organization/… | PractitionerRole/… | Patient/…   who acted
 *   patient=Person/… | Patient/… | <system>|<value> (CHI or an agency's own identifier) | <id>
 *                                         the person the exchange is about, resolved to the
 *                                         index Person and all its agency records (I/O: the caller)
 *   outcome=0|4|8|12   type=rest | <system>|<code>   subtype=read | $match | …
 *   criterion=MI-L3    a maturity criterion code; an unknown code is a 400
 *   service=mpi        the hub service that recorded the exchange
 *   _count _offset _total _summary=count   as every search of the hub
 *   _cursor=after:<id> | before:<id>       the page just after or just before the entry <id> in
 *                                         this search's order — what the Bundle's next/previous
 *                                         links carry
 *   _sort=-date | date                     newest first (the default) or oldest first
 *
 * Comma-separated values OR together; different parameters AND together.
 * Results are newest first (by recorded time, then by id), or with `_sort=date` oldest first
 * (by recorded time, then by id): the index is scored by recorded time, so either is a read of
 * the same sorted set from one end or the other.
 *
 * Why a cursor: the log grows at the top while an auditor pages down it, so an `_offset`
 * counted from the top moves under the reader (each new entry pushes one already shown onto
 * the next page again). A position named by the last entry shown does not move: an entry's
 * place in the order (its recorded time and id) never changes, so walking `next` links shows
 * every entry once, however many arrive meanwhile.
 */
import { badRequest } from '../../../shared/fhir/outcome.js';
import { unservedSearchParameter } from '../../../shared/fhir/unserved-search-parameter.js';
import { isCriterionCode } from '../../../shared/maturity/catalogue.js';
import { parseDateQuery } from '../../../shared/store/date-range.js';
import { ResultParamsReader, queryPairs, searchParamOf, unescape, type ResultParams, type SearchQuery } from '../../../shared/store/search-plan.js';
import { term } from './index-terms.js';

/** One parameter: entries holding any of `terms`. */
export interface TermFilter {
  readonly param: string;
  readonly terms: readonly string[];
}

/** A page positioned next to an entry the reader has seen (`_cursor`), instead of by `_offset`. */
export interface PageCursor {
  /** `after`: the entries following `id` in the search's order (older); `before`: those preceding it (newer). */
  readonly direction: 'after' | 'before';
  /** The stream id (= AuditEvent id) of the entry the page starts next to. */
  readonly id: string;
}

export const CURSOR_PARAM = '_cursor';

/** The `_cursor` value of a page next to entry `id`. */
export function cursorValue(cursor: PageCursor): string {
  return `${cursor.direction}:${cursor.id}`;
}

export interface AuditSearchPlan extends ResultParams {
  /** Recorded time bounds, epoch ms, inclusive (±Infinity when open). */
  readonly from: number;
  readonly to: number;
  /** All must match. */
  readonly filters: readonly TermFilter[];
  /** `patient` values (OR), to be resolved to subject references by the caller; empty when not asked. */
  readonly patients: readonly string[];
  /** Where the page starts when positioned by `_cursor` (then `offset` is 0). */
  readonly cursor?: PageCursor;
}

const OUTCOMES = new Set(['0', '4', '8', '12']);
const SERVICES = /^[a-z][a-z-]{0,31}$/;
const REFERENCE = /^(Organization|PractitionerRole|Patient|Practitioner|Device)\/[A-Za-z0-9\-.]{1,64}$/;
const ID = /^[A-Za-z0-9\-.]{1,64}$/;
const CODE = /^[A-Za-z0-9$\-._]{1,64}$/;
const CURSOR = /^(after|before):(\d{1,20}-\d{1,20})$/;
/** What an AuditEvent search takes besides the result parameters (listed in the refusal of anything else). */
const SERVED = ['date', 'agent', 'patient', 'outcome', 'type', 'subtype', 'criterion', 'service', CURSOR_PARAM];

/** The order the index serves (newest first) and its reverse, as `_sort` values. */
export const AUDIT_ORDER = { type: 'AuditEvent', by: '-date', reverse: 'date' } as const;

export function parseAuditSearch(query: SearchQuery): AuditSearchPlan {
  const result = new ResultParamsReader(AUDIT_ORDER);
  let from = -Infinity;
  let to = Infinity;
  const filters: TermFilter[] = [];
  const patients: string[] = [];
  let cursor: PageCursor | undefined;
  let offsetGiven = false;
  for (const [key, raw] of queryPairs(query)) {
    if (key === '_offset') offsetGiven = true;
    if (key === CURSOR_PARAM) {
      if (cursor) throw badRequest(`'${CURSOR_PARAM}' is given more than once; give it once`, key);
      cursor = cursorOf(raw);
      continue;
    }
    if (result.read(key, raw)) continue;
    const { name, modifier, values } = searchParamOf(key, raw);
    if (!SERVED.includes(name)) throw unservedSearchParameter('AuditEvent', key, SERVED);
    if (modifier !== undefined) throw badRequest(`Modifier ':${modifier}' is not supported on '${name}'`, key);
    if (values.length === 0) continue;
    switch (name) {
      case 'date': {
        if (values.length > 1) throw badRequest(`'date' takes one value per parameter; repeat the parameter to give a range`, key);
        const bounds = dateBounds(key, unescape(values[0]!));
        from = Math.max(from, bounds.from);
        to = Math.min(to, bounds.to);
        break;
      }
      case 'agent':
        filters.push({ param: name, terms: values.map((v) => term.agent(agentReference(key, unescape(v)))) });
        break;
      case 'patient':
        patients.push(...values.map((v) => patientValue(key, unescape(v))));
        break;
      case 'outcome':
        filters.push({ param: name, terms: values.map((v) => term.outcome(checked(key, v, OUTCOMES.has(v), 'one of 0, 4, 8, 12'))) });
        break;
      case 'type':
      case 'subtype':
        filters.push({ param: name, terms: values.map((v) => (name === 'type' ? term.type : term.subtype)(tokenCode(key, unescape(v)))) });
        break;
      case 'criterion':
        filters.push({
          param: name,
          terms: values.map((v) => term.criterion(checked(key, v, isCriterionCode(v), 'a maturity criterion code of the catalogue (IM-L3, MA-L4, …)'))),
        });
        break;
      case 'service':
        filters.push({ param: name, terms: values.map((v) => term.service(checked(key, v, SERVICES.test(v), 'a hub service name'))) });
        break;
      default:
        throw unservedSearchParameter('AuditEvent', key, SERVED);
    }
  }
  // Two positions for one page have no one meaning: refused rather than a guess at which one counts.
  if (cursor && offsetGiven) throw badRequest(`Give either '${CURSOR_PARAM}' or '_offset', not both`, CURSOR_PARAM);
  return { from, to, filters, patients, ...result.params(), ...(cursor ? { cursor } : {}) };
}

function cursorOf(raw: string): PageCursor {
  const match = CURSOR.exec(raw);
  if (!match) throw badRequest(`'${raw.slice(0, 100)}' is not a page position for '${CURSOR_PARAM}' (after:<AuditEvent id> or before:<AuditEvent id>, as the Bundle's links give it)`, CURSOR_PARAM);
  return { direction: match[1] as PageCursor['direction'], id: match[2]! };
}

function checked(key: string, value: string, ok: boolean, expected: string): string {
  if (!ok) throw badRequest(`'${value.slice(0, 100)}' is not ${expected} for '${key}'`, key);
  return value;
}

/** A date search value as an inclusive range of recorded times. */
function dateBounds(key: string, raw: string): { from: number; to: number } {
  const parsed = parseDateQuery(raw);
  if (!parsed) throw badRequest(`'${raw.slice(0, 100)}' is not a date for '${key}'`, key);
  const { prefix, span } = parsed;
  if (!span) throw badRequest(`Date prefix '${prefix}' is not supported for '${key}' (use eq, gt, lt, ge, le)`, key);
  switch (prefix) {
    case 'eq':
      return { from: span.lo, to: span.hi };
    case 'gt':
      return { from: span.hi + 1, to: Infinity };
    case 'lt':
      return { from: -Infinity, to: span.lo - 1 };
    case 'ge':
      return { from: span.lo, to: Infinity };
    case 'le':
      return { from: -Infinity, to: span.hi };
  }
}

/** A bare id is an agency (the usual question: what did this agency do). */
function agentReference(key: string, value: string): string {
  if (REFERENCE.test(value)) return value;
  if (ID.test(value)) return `Organization/${value}`;
  throw badRequest(`'${value.slice(0, 100)}' is not an agency id or a reference (Organization/…, PractitionerRole/…, Patient/…) for '${key}'`, key);
}

function patientValue(key: string, value: string): string {
  if (/^(Patient|Person)\/[A-Za-z0-9\-.]{1,64}$/.test(value) || ID.test(value)) return value;
  const bar = value.indexOf('|');
  if (bar > 0 && bar < value.length - 1 && value.length <= 300) return value;
  throw badRequest(`'${value.slice(0, 100)}' is not a Patient/Person reference, an id or an identifier (system|value) for '${key}'`, key);
}

function tokenCode(key: string, value: string): string {
  const code = value.includes('|') ? value.slice(value.lastIndexOf('|') + 1) : value;
  return checked(key, code, CODE.test(code), 'a code');
}

/** The recorded-time bounds as Redis score arguments. */
export function scoreRange(plan: Pick<AuditSearchPlan, 'from' | 'to'>): [string, string] {
  return [Number.isFinite(plan.from) ? String(plan.from) : '-inf', Number.isFinite(plan.to) ? String(plan.to) : '+inf'];
}
