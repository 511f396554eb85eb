import { Extensions } from '../../../shared/fhir/systems.js';
import type { MatchGrade } from './engine.js';
import { matchBundle, selectMatches, type MatchResult } from './match-bundle.js';

const result = (id: string, probability: number, grade: MatchGrade): MatchResult => ({ record: { resourceType: 'Patient', id }, probability, grade });

const results = [
  result('a', 0.62, 'possible'),
  result('b', 0.999, 'certain'),
  result('c', 0.01, 'certainly-not'),
  result('d', 0.9, 'probable'),
  result('e', 0.995, 'certain'),
];

const ids = (rs: readonly MatchResult[]) => rs.map((r) => r.record.id);

describe('selectMatches', () => {
  it('returns every plausible match, best first, never the certainly-not ones', () => {
    expect(ids(selectMatches(results, { onlyCertainMatches: false, count: 10 }))).toEqual(['b', 'e', 'd', 'a']);
  });

  it('honours onlyCertainMatches', () => {
    expect(ids(selectMatches(results, { onlyCertainMatches: true, count: 10 }))).toEqual(['b', 'e']);
  });

  it('honours count, keeping the best', () => {
    expect(ids(selectMatches(results, { onlyCertainMatches: false, count: 2 }))).toEqual(['b', 'e']);
    expect(ids(selectMatches(results, { onlyCertainMatches: true, count: 1 }))).toEqual(['b']);
  });
});

describe('matchBundle', () => {
  it('is a searchset with a 0..1 score and the match-grade extension on every entry', () => {
    const bundle = matchBundle(selectMatches(results, { onlyCertainMatches: false, count: 10 }), 'http://mpi.test/fhir');
    expect(bundle).toMatchObject({ resourceType: 'Bundle', type: 'searchset' });
    expect(bundle.entry).toHaveLength(4);
    expect(bundle.entry![0]).toEqual({
      fullUrl: 'http://mpi.test/fhir/Patient/b',
      resource: { resourceType: 'Patient', id: 'b' },
      search: { mode: 'match', score: 0.999, extension: [{ url: Extensions.matchGrade, valueCode: 'certain' }] },
    });
    for (const e of bundle.entry!) {
      expect(e.search!.score).toBeGreaterThanOrEqual(0);
      expect(e.search!.score).toBeLessThanOrEqual(1);
    }
  });

  it('is an empty searchset when nothing matches', () => {
    expect(matchBundle([], 'http://mpi.test/fhir')).toEqual({ resourceType: 'Bundle', type: 'searchset' });
  });
});
