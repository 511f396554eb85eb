/**
 * Linking one file against another (FEBRL 4b against an index of 4a): every record of
 * the right file is decided against the left file's index; a `link` to its true
 * partner is a true positive. Review counts as not linked.
 */
import { MatchIndex } from '../../services/mpi/domain/engine.js';
import { estimateModelForLinkage } from '../../services/mpi/domain/estimate.js';
import { toFeatures } from '../../services/mpi/domain/features.js';
import type { MatchModel } from '../../services/mpi/domain/model.js';
import type { DemographicRecord } from '../../services/mpi/domain/record.js';
import type { LabelledRecord } from './febrl.js';
import { quality, round, timed, type Quality } from './metrics.js';

export interface LinkageFigures extends Quality {
  readonly reviewShareOfTruePairs: number;
  readonly recordsPerSecond: number;
  readonly indexRecordsPerSecond: number;
  readonly comparisonsPerRecord: number;
  readonly pairsCompleteness: number;
  readonly outcomes: { readonly link: number; readonly review: number; readonly new: number };
  readonly baseline: Quality & { readonly recordsPerSecond: number };
}

/** EM on the candidate pairs blocking gives and u from random pairs (no labels used). */
export function estimateForLinkage(left: readonly LabelledRecord[], right: readonly LabelledRecord[], source: string): MatchModel {
  return estimateModelForLinkage(
    left.map((l) => toFeatures(l.record)),
    right.map((r) => toFeatures(r.record)),
    { source, description: `Estimated by EM on the unlabelled candidate pairs of ${source}, u from random pairs` },
  );
}

export function runLinkage(left: readonly LabelledRecord[], right: readonly LabelledRecord[], model: MatchModel): LinkageFigures {
  const personOfLeft = new Map(left.map((l) => [l.record.id, l.person]));
  const truePairs = right.filter((r) => left.some((l) => l.person === r.person)).length;

  const build = timed(() => {
    const index = new MatchIndex(model);
    for (const l of left) index.add(toFeatures(l.record));
    return index;
  });
  const index = build.result;

  let found = 0;
  for (const r of right) {
    const candidates = index.candidates(toFeatures(r.record));
    if (candidates.some((c) => personOfLeft.get(c.id) === r.person)) found++;
  }

  const run = timed(() => {
    index.comparisons = 0;
    return right.map((r) => index.match(toFeatures(r.record)));
  }, 9);
  const decisions = run.result;

  let linked = 0;
  let correct = 0;
  let inReview = 0;
  const outcomes = { link: 0, review: 0, new: 0 };
  decisions.forEach((decision, i) => {
    const person = right[i]!.person;
    outcomes[decision.outcome]++;
    if (decision.outcome === 'link') {
      linked++;
      if (personOfLeft.get(decision.best!.id) === person) correct++;
    } else if (decision.outcome === 'review') {
      if (decision.reviewCandidates.some((c) => personOfLeft.get(c.id) === person)) inReview++;
    }
  });

  return {
    ...quality(correct, linked, truePairs),
    reviewShareOfTruePairs: round(inReview / truePairs),
    recordsPerSecond: Math.round(right.length / (run.ms / 1000)),
    indexRecordsPerSecond: Math.round(left.length / (build.ms / 1000)),
    comparisonsPerRecord: round(index.comparisons / right.length, 2),
    pairsCompleteness: round(found / truePairs),
    outcomes,
    baseline: exactKeyBaseline(left, right),
  };
}

/** The raw yardstick: link when forename, surname and birth date are exactly equal (case and spaces aside). */
function exactKeyBaseline(left: readonly LabelledRecord[], right: readonly LabelledRecord[]): Quality & { recordsPerSecond: number } {
  const key = (r: DemographicRecord): string | undefined => {
    const given = r.given[0]?.trim().toLowerCase();
    const family = r.family?.trim().toLowerCase();
    return given && family && r.birthDate ? `${given}|${family}|${r.birthDate}` : undefined;
  };
  const byKey = new Map<string, string[]>();
  for (const l of left) {
    const k = key(l.record);
    if (k === undefined) continue;
    const list = byKey.get(k);
    if (list) list.push(l.person);
    else byKey.set(k, [l.person]);
  }
  const run = timed(() =>
    right.map((r) => {
      const k = key(r.record);
      const hits = k === undefined ? undefined : byKey.get(k);
      return hits && hits.length === 1 ? hits[0] : undefined;
    }),
  );
  let linked = 0;
  let correct = 0;
  run.result.forEach((person, i) => {
    if (person === undefined) return;
    linked++;
    if (person === right[i]!.person) correct++;
  });
  const truePairs = right.filter((r) => left.some((l) => l.person === r.person)).length;
  return { ...quality(correct, linked, truePairs), recordsPerSecond: Math.round(right.length / (run.ms / 1000)) };
}
