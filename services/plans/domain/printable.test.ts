/** How a printed plan spells a period and a date: as a person reads it, at the precision the record gave. */
import { periodText, readableDateTime } from './printable.js';

describe('periodText', () => {
  it('prints a period with both ends, one without an end (open-ended) and one without a start', () => {
    expect(periodText({ start: '2026-03-03', end: '2026-06-30' })).toBe('3 March 2026 to 30 June 2026');
    expect(periodText({ start: '2026-03-03' })).toBe('from 3 March 2026, open-ended');
    expect(periodText({ end: '2026-06-30' })).toBe('until 30 June 2026 (start not recorded)');
  });

  it('prints nothing for a period with neither end', () => {
    expect(periodText({})).toBeUndefined();
    expect(periodText(undefined)).toBeUndefined();
  });
});

describe('readableDateTime', () => {
  it('keeps the precision it was given: a year, a month, a day', () => {
    expect(readableDateTime('2026')).toBe('2026');
    expect(readableDateTime('2026-12')).toBe('December 2026');
    expect(readableDateTime('2026-01-09')).toBe('9 January 2026');
  });

  it('prints a time as written, with its zone, not moved to another', () => {
    expect(readableDateTime('2026-04-14T09:30:00Z')).toBe('14 April 2026, 09:30 UTC');
    expect(readableDateTime('2026-04-14T09:30:00.250+00:00')).toBe('14 April 2026, 09:30 UTC');
    expect(readableDateTime('2026-07-01T23:15:00+01:00')).toBe('1 July 2026, 23:15 (+01:00)');
  });

  it('prints anything that is not a FHIR date as it came', () => {
    expect(readableDateTime('next Tuesday')).toBe('next Tuesday');
    expect(readableDateTime('2026-13-01')).toBe('2026-13-01');
  });
});
