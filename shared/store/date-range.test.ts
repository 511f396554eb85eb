import { DATE_MAX, DATE_MIN, dateSpan, periodSpan } from './date-range.js';

const utc = (iso: string) => Date.parse(iso);

describe('dateSpan', () => {
  it('reads a partial date as the whole year, month or day it names (UTC)', () => {
    expect(dateSpan('2024')).toEqual({ lo: utc('2024-01-01T00:00:00Z'), hi: utc('2025-01-01T00:00:00Z') - 1 });
    expect(dateSpan('2024-02')).toEqual({ lo: utc('2024-02-01T00:00:00Z'), hi: utc('2024-03-01T00:00:00Z') - 1 });
    expect(dateSpan('2024-12-31')).toEqual({ lo: utc('2024-12-31T00:00:00Z'), hi: utc('2025-01-01T00:00:00Z') - 1 });
  });

  it('reads a dateTime to the precision written, honouring its zone', () => {
    expect(dateSpan('2024-06-01T10:00:00+01:00')).toEqual({ lo: utc('2024-06-01T09:00:00Z'), hi: utc('2024-06-01T09:00:01Z') - 1 });
    expect(dateSpan('2024-06-01T10:00Z')).toEqual({ lo: utc('2024-06-01T10:00:00Z'), hi: utc('2024-06-01T10:01:00Z') - 1 });
    expect(dateSpan('2024-06-01T10:00:00.25Z')).toEqual({ lo: utc('2024-06-01T10:00:00.250Z'), hi: utc('2024-06-01T10:00:00.260Z') - 1 });
    expect(dateSpan('2024-06-01T10:00:00.123456Z')).toEqual({ lo: utc('2024-06-01T10:00:00.123Z'), hi: utc('2024-06-01T10:00:00.123Z') });
  });

  it('refuses text that is not a FHIR date, including impossible days', () => {
    for (const bad of ['', 'yesterday', '2024-13', '2023-02-29', '2024-06-01T25:00:00Z', '24-06-01']) {
      expect(dateSpan(bad)).toBeUndefined();
    }
  });
});

describe('periodSpan', () => {
  it('spans from the start of the start to the end of the end, open ends reaching the far past or future', () => {
    expect(periodSpan('2024-01', '2024-02')).toEqual({ lo: utc('2024-01-01T00:00:00Z'), hi: utc('2024-03-01T00:00:00Z') - 1 });
    expect(periodSpan(undefined, '2024')).toEqual({ lo: DATE_MIN, hi: utc('2025-01-01T00:00:00Z') - 1 });
    expect(periodSpan('2024', undefined)).toEqual({ lo: utc('2024-01-01T00:00:00Z'), hi: DATE_MAX });
    expect(periodSpan(undefined, undefined)).toBeUndefined();
    expect(periodSpan('garbage', '2024')).toBeUndefined();
  });
});
