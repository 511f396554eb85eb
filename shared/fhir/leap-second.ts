/**
 * A leap second (`…T23:59:60Z`, seconds 60) is a valid R4 dateTime and instant, but
 * no JavaScript date reads it (`Date.parse` gives NaN, `Date.UTC` rolls it into the
 * next minute). Every reader of a FHIR date in the hub reads it the same way, through
 * here: as the last millisecond of its minute, `…T23:59:59.999` in the same zone — it
 * stays inside the minute (and the day, month and year) it was written in, and after
 * every instant before it. Nothing is refused for it and nothing stored is rewritten:
 * only the reading changes.
 */

/** `hh:mm:60` with any fraction, before the zone (or the end, for a search value without one). */
const LEAP_SECOND = /(T\d{2}:\d{2}):60(?:\.\d+)?(?=Z|[+-]\d{2}:\d{2}|$)/;

/** The text a JavaScript date can read for a FHIR date/dateTime/instant: a leap second as `:59.999`; anything else as it is. */
export function readableInstant(value: string): string {
  return value.replace(LEAP_SECOND, '$1:59.999');
}
