import type { Patient } from 'fhir/r4.js';
import { historyBundle, searchsetBundle } from './bundle.js';

const patient = (id: string): Patient => ({ resourceType: 'Patient', id });

describe('searchset Bundle', () => {
  it('links to the next page keeping the query, so clients can page', () => {
    const self = new URL('http://hub/fhir/Patient?family=Smith&_count=2');
    const b = searchsetBundle({ resources: [patient('a'), patient('b')], total: 5, offset: 0, count: 2 }, self, 'http://hub/fhir');
    const next = b.link?.find((l) => l.relation === 'next')?.url;
    expect(next).toBeDefined();
    const u = new URL(next!);
    expect(u.searchParams.get('family')).toBe('Smith');
    expect(u.searchParams.get('_offset')).toBe('2');
    expect(b.total).toBe(5);
    expect(b.entry?.[0]?.fullUrl).toBe('http://hub/fhir/Patient/a');
  });

  it('omits total when the caller must not reveal a count', () => {
    const b = searchsetBundle({ resources: [patient('a')], offset: 0, count: 10 }, new URL('http://hub/fhir/Patient'), 'http://hub/fhir');
    expect(b.total).toBeUndefined();
    expect(b.link?.some((l) => l.relation === 'next')).toBe(false);
  });

  it('carries $match scores on entries', () => {
    const b = searchsetBundle(
      { resources: [patient('a')], offset: 0, count: 10, scores: new Map([['a', 0.97]]) },
      new URL('http://hub/fhir/Patient/$match'),
      'http://hub/fhir',
    );
    expect(b.entry?.[0]?.search?.score).toBe(0.97);
  });

  it('answers _summary=count with the total alone: no entries and no page links', () => {
    const self = new URL('http://hub/fhir/Patient?family=Smith&_summary=count');
    const b = searchsetBundle({ resources: [], total: 7, offset: 0, count: 0 }, self, 'http://hub/fhir');
    expect(b).toEqual({ resourceType: 'Bundle', type: 'searchset', total: 7, link: [{ relation: 'self', url: self.toString() }] });
  });

  it('pages by position when given cursors: the links carry them in place of _offset, and leave out a direction with none', () => {
    const self = new URL('http://hub/fhir/AuditEvent?type=rest&_offset=4&_count=2');
    const b = searchsetBundle({ resources: [patient('a'), patient('b')], total: 9, offset: 4, count: 2, cursors: { param: '_cursor', next: 'after:b' } }, self, 'http://hub/fhir');
    expect(b.link?.map((l) => l.relation)).toEqual(['self', 'next']);
    const next = new URL(b.link![1]!.url);
    expect([next.searchParams.get('type'), next.searchParams.get('_cursor'), next.searchParams.get('_offset'), next.searchParams.get('_count')]).toEqual(['rest', 'after:b', null, '2']);
  });
});

describe('history Bundle', () => {
  it('says of each version how it came about: the first a create (POST, 201), later ones updates (PUT, 200)', () => {
    const version = (versionId: string): Patient => ({ resourceType: 'Patient', id: 'p', meta: { versionId, lastUpdated: `2026-12-06T20:0${versionId}:00Z` } });
    const b = historyBundle([version('2'), version('1')], 'http://hub/fhir');
    expect(b).toMatchObject({ type: 'history', total: 2 });
    expect(b.entry?.map((e) => [e.fullUrl, e.request, e.response?.status, e.response?.etag])).toEqual([
      ['http://hub/fhir/Patient/p', { method: 'PUT', url: 'Patient/p' }, '200 OK', 'W/"2"'],
      ['http://hub/fhir/Patient/p', { method: 'POST', url: 'Patient' }, '201 Created', 'W/"1"'],
    ]);
  });
});
