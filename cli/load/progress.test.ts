import { bundleDoneLine, MAX_POLL_INTERVAL_MS, pollDelayMs, progressLine, progressOf, recordRange } from './progress.js';

describe('load progress', () => {
  it('reads the records registered from the status URL’s X-Progress header', () => {
    expect(progressOf('12 of 40 records registered')).toBe(12);
    expect(progressOf('complete')).toBeUndefined();
    expect(progressOf(undefined)).toBeUndefined();
  });

  it('shows records registered of the total, the Bundle and the rate', () => {
    const state = { registered: 1500, total: 3700, bundle: 1, bundles: 4, elapsedMs: 3000 };
    expect(progressLine(state)).toBe('Registering: 1500 of 3700 records (40 %), Bundle 2 of 4, 500 records/s');
    expect(bundleDoneLine({ ...state, registered: 2000 }, 1000, 1000, { created: 990, updated: 10, unchanged: 0 })).toBe(
      'Bundle 2 of 4 (records 1001–2000) registered: 990 created, 10 updated; 2000 of 3700 so far, 667 records/s',
    );
    // A file sent again as it was: its records are not called updated (nothing was written).
    expect(bundleDoneLine({ ...state, registered: 2000 }, 1000, 1000, { created: 0, updated: 3, unchanged: 997 })).toBe(
      'Bundle 2 of 4 (records 1001–2000) registered: 0 created, 3 updated, 997 unchanged; 2000 of 3700 so far, 667 records/s',
    );
    expect(recordRange(36, 1)).toBe('record 37');
  });

  it('polls soon at first, then as Retry-After asks but at least every second', () => {
    expect(pollDelayMs(0, undefined)).toBe(100);
    expect(pollDelayMs(2, '2')).toBe(500);
    expect(pollDelayMs(10, '2')).toBe(MAX_POLL_INTERVAL_MS);
    expect(pollDelayMs(10, '3600')).toBe(MAX_POLL_INTERVAL_MS);
    expect(pollDelayMs(10, '0')).toBe(0);
    const now = Date.parse('2026-11-25T10:00:00Z');
    expect(pollDelayMs(10, 'Wed, 25 Nov 2026 10:00:00 GMT', now)).toBe(0);
    expect(pollDelayMs(10, 'not a date')).toBe(MAX_POLL_INTERVAL_MS);
  });
});
