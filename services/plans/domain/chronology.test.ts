import type { CarePlan, Observation, ServiceRequest } from 'fhir/r4.js';
import { Extensions } from '../../../shared/fhir/systems.js';
import { agenciesOf, boundOf, chronologyList, eventsOfVersions, filterEvents, type ChronologyEvent } from './chronology.js';

const event = (date: string, category: ChronologyEvent['category'], agency = 'nhs-lothian'): ChronologyEvent => ({
  date,
  kind: category === 'alert' ? 'alert-raised' : category === 'plan' ? 'plan-version' : category === 'assessment' ? 'assessment' : 'service-request',
  category,
  agency,
  reference: `X/${date}`,
  summary: category,
});

describe('filterEvents', () => {
  const events = [event('2026-11-03T09:00:00Z', 'plan'), event('2026-11-01T09:00:00Z', 'alert'), event('2026-11-02T23:59:00Z', 'assessment')];

  it('orders the timeline oldest first', () => {
    expect(filterEvents(events, {}).map((e) => e.date)).toEqual(['2026-11-01T09:00:00Z', '2026-11-02T23:59:00Z', '2026-11-03T09:00:00Z']);
  });

  it('keeps whole days at both ends of a date filter, and only the categories asked for', () => {
    expect(filterEvents(events, { start: '2026-11-02', end: '2026-11-02' }).map((e) => e.category)).toEqual(['assessment']);
    expect(filterEvents(events, { categories: new Set(['plan', 'alert'] as const) }).map((e) => e.category)).toEqual(['alert', 'plan']);
  });

  it('reads bounds as dates or zoned date-times, and nothing else', () => {
    expect(boundOf('2026-11-02', 'end')).toBe(Date.parse('2026-11-03T00:00:00Z') - 1);
    expect(boundOf('2026-11-02T10:00:00+01:00', 'start')).toBe(Date.parse('2026-11-02T09:00:00Z'));
    expect(boundOf('2026-02-30', 'start')).toBeUndefined();
    expect(boundOf('yesterday', 'start')).toBeUndefined();
  });
});

describe('eventsOfVersions', () => {
  it('gives a notable event once, on the date it happened, as its latest version tells it, from the agency that recorded it', () => {
    const v = (n: string, source: string, overrides: Partial<Observation> = {}): Observation => ({
      resourceType: 'Observation',
      id: 'e',
      meta: { versionId: n, lastUpdated: `2026-11-2${n}T10:00:00Z`, source },
      status: 'final',
      code: { text: 'Missing from home overnight' },
      effectiveDateTime: '2026-11-18T23:30:00Z',
      ...overrides,
    });
    const events = eventsOfVersions([v('2', 'b', { valueString: 'Found safe' }), v('1', 'a')], (r) => r.meta?.source ?? '');
    expect(events).toEqual([
      { date: '2026-11-18T23:30:00Z', kind: 'notable-event', category: 'notable-event', agency: 'a', reference: 'Observation/e/_history/2', summary: 'Missing from home overnight: Found safe' },
    ]);
    expect(eventsOfVersions([v('2', 'a', { status: 'entered-in-error' }), v('1', 'a')], () => 'a')).toEqual([]);
  });

  it('gives one event per plan version, naming the agency that wrote it', () => {
    const v = (n: string, status: CarePlan['status'], source: string): CarePlan => ({ resourceType: 'CarePlan', id: 'p', meta: { versionId: n, lastUpdated: `2026-11-0${n}T10:00:00Z`, source }, status, intent: 'plan', title: 'Plan', subject: {} });
    const events = eventsOfVersions([v('2', 'active', 'b'), v('1', 'draft', 'a')], (r) => r.meta?.source ?? '');
    expect(events.map((e) => [e.reference, e.agency, e.summary])).toEqual([
      ['CarePlan/p/_history/1', 'a', 'Plan — version 1 (draft)'],
      ['CarePlan/p/_history/2', 'b', 'Plan — version 2 (active)'],
    ]);
  });

  it('says how a request for assistance moved', () => {
    const v = (n: string, status: ServiceRequest['status']): ServiceRequest => ({ resourceType: 'ServiceRequest', id: 's', meta: { versionId: n, lastUpdated: `2026-11-0${n}T10:00:00Z` }, status, intent: 'order', subject: {}, code: { text: 'Family support' }, performer: [{ reference: 'Organization/children1st-edinburgh' }] });
    const events = eventsOfVersions([v('1', 'draft'), v('2', 'active')], () => 'edinburgh-social-work');
    expect(events.map((e) => e.summary)).toEqual(['Family support to children1st-edinburgh: draft (version 1)', 'Family support to children1st-edinburgh: draft → active (version 2)']);
  });
});

describe('chronologyList', () => {
  it('is a List whose entries carry date, event kind, what happened and the source agency', () => {
    const list = chronologyList({ reference: 'Patient/r1' }, [event('2026-11-01T09:00:00Z', 'plan', 'edinburgh-social-work')], new Date('2026-12-01T00:00:00Z'));
    expect(list).toMatchObject({ resourceType: 'List', status: 'current', mode: 'snapshot', subject: { reference: 'Patient/r1' } });
    expect(list.entry?.[0]).toEqual({
      extension: [{ url: Extensions.sourceAgency, valueReference: { reference: 'Organization/edinburgh-social-work' } }],
      flag: { coding: [{ system: 'https://fhir.infoshare.scot/CodeSystem/chronology-event', code: 'plan-version' }] },
      date: '2026-11-01T09:00:00Z',
      item: { reference: 'X/2026-11-01T09:00:00Z', display: 'plan' },
    });
    expect(chronologyList({}, [], new Date()).emptyReason).toBeDefined();
  });

  it('counts the agencies it integrates', () => {
    expect(agenciesOf([event('2026-11-01T09:00:00Z', 'plan', 'a'), event('2026-11-02T09:00:00Z', 'alert', 'b'), event('2026-11-03T09:00:00Z', 'plan', 'a')])).toEqual(['a', 'b']);
  });
});

describe('a leap second in the chronology (shared/fhir/leap-second.ts)', () => {
  it('the chronology places it at the end of its minute and filters it by that instant', () => {
    const event = (id: string, date: string): ChronologyEvent => ({ date, kind: 'plan', category: 'plan', agency: 'a', reference: `CarePlan/${id}` }) as unknown as ChronologyEvent;
    const events = [event('after', '2017-01-01T00:00:00Z'), event('leap', '2016-12-31T23:59:60Z'), event('before', '2016-12-31T23:59:59Z')];
    expect(filterEvents(events, {}).map((e) => e.reference)).toEqual(['CarePlan/before', 'CarePlan/leap', 'CarePlan/after']);
    expect(filterEvents(events, { end: '2016-12-31' }).map((e) => e.reference)).toEqual(['CarePlan/before', 'CarePlan/leap']);
  });
});
