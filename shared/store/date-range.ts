/**
 * FHIR date, dateTime and instant values as the span of time they name, in epoch
 * milliseconds with an inclusive end — the shape FHIR date search compares.
 * `2024` covers the whole year, `2024-03-01T10:00:00Z` the whole second,
 * `2024-03-01T10:00:00.250Z` one millisecond. Values without a time are taken in
 * UTC (FHIR leaves their zone unstated); the index and the query read them the
 * same way, so a day still matches itself.
 */

import { readableInstant } from '../fhir/leap-second.js';

/** Far ends of a JavaScript Date, used for the open side of a Period. */
export const DATE_MIN = -8.64e15;
export const DATE_MAX = 8.64e15;

export interface DateSpan {
  /** First millisecond covered. */
  readonly lo: number;
  /** Last millisecond covered (inclusive). */
  readonly hi: number;
}

/**
 * YYYY, YYYY-MM, YYYY-MM-DD, or a time to minutes (search only), seconds or
 * fractions, with `Z` or an offset. Search values may omit the zone; those are UTC.
 */
const FHIR_DATE =
  /^(\d{4})(?:-(0[1-9]|1[0-2])(?:-(0[1-9]|[12]\d|3[01])(?:T([01]\d|2[0-3]):([0-5]\d)(?::([0-5]\d|60)(?:\.(\d{1,9}))?)?(Z|[+-](?:0\d|1[0-4]):[0-5]\d)?)?)?)?$/;

/** The span a FHIR date/dateTime/instant covers, or undefined when the text is not one. */
export function dateSpan(value: string): DateSpan | undefined {
  // A leap second is read as the last millisecond of its minute (shared/fhir/leap-second.ts), not rolled into the next.
  const m = FHIR_DATE.exec(readableInstant(value.trim()));
  if (!m) return undefined;
  const [, year, month, day, hour, minute, second, fraction, zone] = m;
  const y = Number(year);
  if (month === undefined) return span(Date.UTC(y, 0, 1), Date.UTC(y + 1, 0, 1));
  const mo = Number(month) - 1;
  if (day === undefined) return span(Date.UTC(y, mo, 1), Date.UTC(y, mo + 1, 1));
  const d = Number(day);
  // Date.UTC silently rolls 2023-02-30 into March; refuse it instead.
  if (new Date(Date.UTC(y, mo, d)).getUTCDate() !== d) return undefined;
  if (hour === undefined) return span(Date.UTC(y, mo, d), Date.UTC(y, mo, d + 1));
  const offsetMs = zoneOffsetMs(zone);
  const base = Date.UTC(y, mo, d, Number(hour), Number(minute), Number(second ?? 0)) - offsetMs;
  if (second === undefined) return span(base, base + 60_000);
  if (fraction === undefined) return span(base, base + 1000);
  // Precision beyond milliseconds cannot be stored; the millisecond containing it is the span.
  const ms = Math.floor(Number(`0.${fraction}`) * 1000);
  const unit = fraction.length >= 3 ? 1 : 10 ** (3 - fraction.length);
  return span(base + ms, base + ms + unit);
}

/** A Period's span: an absent start or end is open on that side. */
export function periodSpan(start: string | undefined, end: string | undefined): DateSpan | undefined {
  const from = start === undefined ? { lo: DATE_MIN, hi: DATE_MIN } : dateSpan(start);
  const to = end === undefined ? { lo: DATE_MAX, hi: DATE_MAX } : dateSpan(end);
  if (!from || !to || (start === undefined && end === undefined)) return undefined;
  return { lo: from.lo, hi: to.hi };
}

/** `[startInclusive, endExclusive)` → inclusive span. */
function span(start: number, endExclusive: number): DateSpan {
  return { lo: start, hi: endExclusive - 1 };
}

function zoneOffsetMs(zone: string | undefined): number {
  if (zone === undefined || zone === 'Z') return 0;
  const sign = zone.startsWith('-') ? -1 : 1;
  const [h, m] = zone.slice(1).split(':').map(Number);
  return sign * ((h ?? 0) * 60 + (m ?? 0)) * 60_000;
}

/** The comparisons a date search takes (`ne`, `sa`, `eb` and `ap` are not served). */
export type DatePrefix = 'eq' | 'gt' | 'lt' | 'ge' | 'le';

/** `ge2014-03` → prefix and span; undefined when the text is not a date with a served prefix. */
export function parseDateQuery(raw: string): { prefix: DatePrefix; span: DateSpan } | { prefix: string; span?: undefined } | undefined {
  const m = /^(eq|ne|gt|lt|ge|le|sa|eb|ap)?(.*)$/.exec(raw);
  const prefix = m?.[1] ?? 'eq';
  const span = dateSpan(m?.[2] ?? '');
  if (!span) return undefined;
  if (prefix === 'eq' || prefix === 'gt' || prefix === 'lt' || prefix === 'ge' || prefix === 'le') return { prefix, span };
  return { prefix };
}

/**
 * Does a value's span satisfy `prefix query`? The same comparisons the store's
 * date index makes (search-plan.ts): `eq` the value lies within the query's span,
 * `gt` it extends after it, `lt` before it, `ge` it ends at or after the query's
 * start, `le` it starts at or before the query's end.
 */
export function dateMatches(prefix: DatePrefix, query: DateSpan, value: DateSpan): boolean {
  switch (prefix) {
    case 'eq':
      return value.lo >= query.lo && value.hi <= query.hi;
    case 'gt':
      return value.hi > query.hi;
    case 'lt':
      return value.lo < query.lo;
    case 'ge':
      return value.hi >= query.lo;
    case 'le':
      return value.lo <= query.hi;
  }
}

/** Could any value lying within `bounds` satisfy `prefix query`? (To skip whole ranges of values.) */
export function dateMayMatchWithin(prefix: DatePrefix, query: DateSpan, bounds: DateSpan): boolean {
  return prefix === 'eq' ? bounds.lo <= query.hi && bounds.hi >= query.lo : dateMatches(prefix, query, bounds);
}
