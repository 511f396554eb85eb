import { notModified } from './not-modified.js';

const CHANGED = 'Sun, 06 Dec 2026 20:00:07 GMT';

describe('conditional read: is the client\u2019s copy current?', () => {
  it('compares If-None-Match weakly with the current ETag, any of a list, or *', () => {
    expect(notModified('W/"2"', undefined, 'W/"2"', CHANGED)).toBe(true);
    expect(notModified('"2"', undefined, 'W/"2"', CHANGED)).toBe(true);
    expect(notModified('W/"1", W/"2"', undefined, 'W/"2"', CHANGED)).toBe(true);
    expect(notModified('*', undefined, 'W/"2"', CHANGED)).toBe(true);
    expect(notModified('W/"1"', undefined, 'W/"2"', CHANGED)).toBe(false);
    expect(notModified('W/"2"', undefined, undefined, CHANGED)).toBe(false);
  });

  it('reads If-Modified-Since only without If-None-Match, to the second', () => {
    expect(notModified(undefined, CHANGED, 'W/"2"', CHANGED)).toBe(true);
    expect(notModified(undefined, 'Sun, 06 Dec 2026 20:00:06 GMT', 'W/"2"', CHANGED)).toBe(false);
    expect(notModified('W/"1"', 'Mon, 07 Dec 2026 00:00:00 GMT', 'W/"2"', CHANGED)).toBe(false);
    expect(notModified(undefined, 'not a date', 'W/"2"', CHANGED)).toBe(false);
  });
});
