/**
 * A leap second (`…:60`) read the one way every date reader of the hub reads it: the last millisecond of its
 * minute, in the zone it was written in. One test per reader: the ISP / CareTeam / Consent period reader
 * (`fhirDateSpan`), the store's index and search reader (`dateSpan`) and R4 validation's per-1 (`validityOf`); the
 * plans chronology's in services/plans/domain/chronology.test.ts.
 */
import { fhirDateSpan } from '../isp/dates.js';
import { dateSpan } from '../store/date-range.js';
import { readableInstant } from './leap-second.js';
import { validityOf } from './validate.js';

const LAST_MS_OF_2016 = Date.parse('2016-12-31T23:59:59.999Z');

describe('a leap second, read as the last millisecond of its minute', () => {
  it('is rewritten for reading only when the seconds are 60, in any zone, with or without a fraction', () => {
    expect(readableInstant('2016-12-31T23:59:60Z')).toBe('2016-12-31T23:59:59.999Z');
    expect(readableInstant('2016-12-31T23:59:60.5Z')).toBe('2016-12-31T23:59:59.999Z');
    expect(readableInstant('2017-01-01T00:59:60+01:00')).toBe('2017-01-01T00:59:59.999+01:00');
    // A search value may leave the zone out (UTC).
    expect(readableInstant('2016-12-31T23:59:60')).toBe('2016-12-31T23:59:59.999');
    for (const other of ['2016-12-31T23:59:59Z', '2016-12-31', '2016', '2016-12-31T23:60:00Z']) expect(readableInstant(other)).toBe(other);
  });

  it('the period reader (ISP review dates, CareTeam and Consent periods) reads it, where it read nothing before', () => {
    expect(fhirDateSpan('2016-12-31T23:59:60Z')?.start.getTime()).toBe(LAST_MS_OF_2016);
    expect(fhirDateSpan('2017-01-01T00:59:60+01:00')?.start.getTime()).toBe(LAST_MS_OF_2016);
  });

  it('the store index and date search read it inside its own minute, not rolled into the next', () => {
    expect(dateSpan('2016-12-31T23:59:60Z')).toEqual({ lo: LAST_MS_OF_2016, hi: LAST_MS_OF_2016 });
    expect(dateSpan('2016-12-31T23:59:60Z')!.hi).toBeLessThan(dateSpan('2017-01-01T00:00:00Z')!.lo);
  });

  it("R4 validation takes it, and per-1 compares it with the period's other end", () => {
    const team = (period: { start?: string; end?: string }) => ({ resourceType: 'CareTeam', status: 'active', period });
    expect(validityOf(team({ start: '2016-12-31T23:59:59Z', end: '2016-12-31T23:59:60Z' })).valid).toBe(true);
    const backwards = validityOf(team({ start: '2017-01-01T00:00:00Z', end: '2016-12-31T23:59:60Z' }));
    expect(backwards.valid).toBe(false);
    expect(backwards.valid ? [] : backwards.issues.flatMap((i) => i.expression ?? [])).toEqual(['CareTeam.period']);
  });
});
