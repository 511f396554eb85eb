/**
 * The model each deduplication data set is matched with: estimated from the set's own
 * records, unlabelled, by the very function `infoshare matching estimate` runs on the
 * partnership's index (`estimateMatchingModel`: EM, u from random pairs, term
 * frequencies, thresholds from target match probabilities) — so the benchmark measures
 * what a partnership would get, not what we tuned.
 */
import { estimateMatchingModel } from '../../services/mpi/domain/estimate.js';
import { toFeatures } from '../../services/mpi/domain/features.js';
import type { MatchModel } from '../../services/mpi/domain/model.js';
import type { LabelledRecord } from './febrl.js';

export function estimateForRecords(records: readonly LabelledRecord[], source: string): { model: MatchModel; estimation: unknown } {
  const { model, report } = estimateMatchingModel(
    records.map((r) => toFeatures(r.record)),
    { source, description: `Estimated by EM on the unlabelled candidate pairs of ${source}, u from random pairs` },
  );
  return { model, estimation: { ...model.estimation, report } };
}
