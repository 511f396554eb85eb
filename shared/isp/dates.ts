/**
 * FHIR date/dateTime values as instants, for the ISP's in-force period.
 *
 * A review date is usually written as a plain date ("review by 2027-09-30"),
 * meaning the whole of that day is still covered. So a partial date is read
 * as the span it names: its start is the first instant of the span, its end
 * the first instant after it (exclusive). Partial dates are taken in UTC; a
 * day-level review date therefore ends at midnight UTC, an hour after local
 * midnight in British Summer Time — close enough for a yearly review, and
 * authors who need the exact instant can write a full dateTime.
 */

import { readableInstant } from '../fhir/leap-second.js';

/** FHIR R4 dateTime (which also covers date): YYYY, YYYY-MM, YYYY-MM-DD, or with time and zone. */
const FHIR_DATE_TIME =
  /^(\d{4})(?:-(0[1-9]|1[0-2])(?:-(0[1-9]|[12]\d|3[01])(?:T([01]\d|2[0-3]):([0-5]\d):([0-5]\d|60)(\.\d{1,9})?(Z|[+-](?:(?:0\d|1[0-3]):[0-5]\d|14:00)))?)?)?$/;

export interface InstantSpan {
  /** First instant the value covers. */
  readonly start: Date;
  /** First instant after the value (exclusive end). */
  readonly end: Date;
}

/** The span a FHIR date/dateTime covers, or undefined when it is not one. */
export function fhirDateSpan(value: string): InstantSpan | undefined {
  const m = FHIR_DATE_TIME.exec(value);
  if (!m) return undefined;
  const [, year, month, day, hour] = m;
  const y = Number(year);
  if (hour !== undefined) {
    // A leap second is read as the last millisecond of its minute (shared/fhir/leap-second.ts).
    const instant = new Date(readableInstant(value));
    if (Number.isNaN(instant.getTime())) return undefined;
    // A dateTime with seconds names one instant; the span is that instant up to the next millisecond.
    return { start: instant, end: new Date(instant.getTime() + 1) };
  }
  if (month === undefined) return { start: utc(y, 0, 1), end: utc(y + 1, 0, 1) };
  const mo = Number(month) - 1;
  if (day === undefined) return { start: utc(y, mo, 1), end: utc(y, mo + 1, 1) };
  const d = Number(day);
  const start = utc(y, mo, d);
  // Reject dates such as 2027-02-30 that Date.UTC would silently roll over.
  if (start.getUTCMonth() !== mo) return undefined;
  return { start, end: utc(y, mo, d + 1) };
}

function utc(year: number, monthIndex: number, day: number): Date {
  return new Date(Date.UTC(year, monthIndex, day));
}
