/**
 * FHIR `$match` results: a searchset Bundle of agency records, best first, each
 * with `search.score` (a probability, 0..1) and the match-grade extension.
 */
import type { Bundle, BundleEntry, Patient } from 'fhir/r4.js';
import { Extensions } from '../../../shared/fhir/systems.js';
import type { MatchGrade } from './engine.js';

export interface MatchResult {
  readonly record: Patient;
  readonly probability: number;
  readonly grade: MatchGrade;
}

export interface MatchQuery {
  readonly onlyCertainMatches: boolean;
  readonly count: number;
}

/** Keeps what the caller asked for: not certainly-not; only certain ones if asked; at most `count`. */
export function selectMatches(results: readonly MatchResult[], query: MatchQuery): MatchResult[] {
  return results
    .filter((r) => r.grade !== 'certainly-not' && (!query.onlyCertainMatches || r.grade === 'certain'))
    .sort((a, b) => b.probability - a.probability)
    .slice(0, query.count);
}

/** `model` says which matching model scored the results (model-versions.ts describeModel), on every entry. */
export function matchBundle(results: readonly MatchResult[], baseUrl: string, model?: string): Bundle<Patient> {
  if (results.length === 0) return { resourceType: 'Bundle', type: 'searchset' }; // FHIR JSON has no empty arrays: no `entry`
  return {
    resourceType: 'Bundle',
    type: 'searchset',
    entry: results.map(
      (r): BundleEntry<Patient> => ({
        fullUrl: `${baseUrl}/Patient/${r.record.id}`,
        resource: r.record,
        search: {
          mode: 'match',
          score: Math.round(r.probability * 1000) / 1000,
          extension: [{ url: Extensions.matchGrade, valueCode: r.grade }, ...(model ? [{ url: Extensions.matchingModel, valueString: model }] : [])],
        },
      }),
    ),
  };
}
