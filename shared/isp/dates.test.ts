import { fhirDateSpan } from './dates.js';

describe('fhirDateSpan', () => {
  it('Reads a plain date as the whole day, so a review date still covers its own day', () => {
    const span = fhirDateSpan('2027-09-30')!;
    expect(span.start.toISOString()).toBe('2027-09-30T00:00:00.000Z');
    expect(span.end.toISOString()).toBe('2027-10-01T00:00:00.000Z');
  });

  it('Reads year and year-month dates as their whole span', () => {
    expect(fhirDateSpan('2027')!.end.toISOString()).toBe('2028-01-01T00:00:00.000Z');
    expect(fhirDateSpan('2027-12')!.end.toISOString()).toBe('2028-01-01T00:00:00.000Z');
  });

  it('Reads a dateTime with its zone as that instant', () => {
    expect(fhirDateSpan('2027-09-30T17:00:00+01:00')!.start.toISOString()).toBe('2027-09-30T16:00:00.000Z');
  });

  it('Refuses what is not a FHIR date: impossible days, times without zones, free text', () => {
    expect(fhirDateSpan('2027-02-30')).toBeUndefined();
    expect(fhirDateSpan('2027-09-30T17:00:00')).toBeUndefined();
    expect(fhirDateSpan('30/09/2027')).toBeUndefined();
  });
});
