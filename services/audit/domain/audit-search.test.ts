import { isOperationOutcomeError } from '../../../shared/fhir/outcome.js';
import { cursorValue, parseAuditSearch } from './audit-search.js';

const parse = (q: string) => parseAuditSearch(new URLSearchParams(q));
const refusal = (q: string) => {
  try {
    parse(q);
  } catch (err) {
    if (isOperationOutcomeError(err)) return { status: err.status, text: err.message };
    throw err;
  }
  throw new Error(`accepted: ${q}`);
};

describe('reading an AuditEvent search', () => {
  it('reads a date range from two date parameters, inclusive at both ends', () => {
    const plan = parse('date=ge2026-12-01&date=le2026-12-01');
    expect(plan.from).toBe(Date.parse('2026-12-01T00:00:00Z'));
    expect(plan.to).toBe(Date.parse('2026-12-02T00:00:00Z') - 1);
  });

  it('reads agents as agencies unless given as references, and ORs comma-separated values', () => {
    expect(parse('agent=nhs-lothian,PractitionerRole/pr-1').filters).toEqual([{ param: 'agent', terms: ['agent:Organization/nhs-lothian', 'agent:PractitionerRole/pr-1'] }]);
  });

  it('matches types and subtypes by code, with or without their system', () => {
    expect(parse('type=http://terminology.hl7.org/CodeSystem/audit-event-type|rest&subtype=$match').filters.map((f) => f.terms)).toEqual([['type:rest'], ['subtype:$match']]);
  });

  it('keeps patient values for resolution through the MPI', () => {
    expect(parse('patient=urn:oid:2.16.840.1.113883.2.1.3.2.4.16.53|0101011234,Person/p-1').patients).toEqual([
      'urn:oid:2.16.840.1.113883.2.1.3.2.4.16.53|0101011234',
      'Person/p-1',
    ]);
  });

  it('reads _sort=-date as the order served (newest first) and _sort=date as its reverse (oldest first)', () => {
    expect(parse('_sort=-date').reversed).toBeUndefined();
    expect(parse('_sort=date&_cursor=after:5-1')).toMatchObject({ reversed: true, cursor: { direction: 'after', id: '5-1' } });
  });

  it('answers _summary=count with the total alone', () => {
    expect(parse('criterion=MA-L3&_summary=count')).toMatchObject({ count: 0, total: true, summaryCount: true });
  });

  it('reads a page position next to an entry from _cursor (what the Bundle links carry), with no offset', () => {
    expect(parse('_cursor=after:1796536073718-0&_count=10')).toMatchObject({ cursor: { direction: 'after', id: '1796536073718-0' }, offset: 0, count: 10 });
    expect(parse('_cursor=before:1796536073718-12').cursor).toEqual({ direction: 'before', id: '1796536073718-12' });
    expect(cursorValue({ direction: 'after', id: '5-1' })).toBe('after:5-1');
    expect(parse('_count=10').cursor).toBeUndefined();
  });

  it.each([
    ['_cursor=after:1-0&_offset=20', /either '_cursor' or '_offset'/],
    ['_cursor=after:1-0&_offset=0', /either '_cursor' or '_offset'/],
    ['_cursor=after:1-0&_cursor=before:2-0', /more than once/],
    ['_cursor=1796536073718-0', /not a page position/],
    ['_cursor=after:Patient/1', /not a page position/],
    ['_cursor=sideways:1-0', /not a page position/],
    ['criterion=XX-L9', /not a maturity criterion/],
    ['criterion=MA-L6', /not a maturity criterion/],
    ['outcome=success', /not one of 0, 4, 8, 12/],
    ['date=yesterday', /not a date/],
    ['date=ne2026-12-01', /not supported/],
    ['_count=-1', /non-negative integer/],
    ['_sort=_id', /results come in -date order, which _sort=-date asks for, or in the reverse, _sort=date/],
    ['_sort=-date,_id', /not supported/],
    ['entity=Patient/1', /Unknown search parameter/],
    ['agent:Organization=nhs', /Modifier/],
    ['agent=<script>', /not an agency id/],
  ])('refuses %s with a 400 naming the parameter', (query, text) => {
    const { status, text: diagnostics } = refusal(query);
    expect(status).toBe(400);
    expect(diagnostics).toMatch(text);
  });
});
