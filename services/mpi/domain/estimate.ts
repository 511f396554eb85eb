/**
 * Estimating a matching model from a set of records, end to end: candidate pairs from
 * blocking (for m, by EM), random pairs (for u), twins from within each source. Used to
 * produce `default-model.json`, by the benchmark, and by anyone re-estimating the model
 * on their partnership's own records (the methodology review of MI-L5).
 */
import { MatchIndex } from './engine.js';
import type { MatchFeatures } from './features.js';
import {
  estimateModel,
  estimateTwins,
  sampleCrossPairs,
  sampleRandomPairs,
  type EstimateOptions,
  type MatchModel,
  type RecordPair,
} from './model.js';

export interface RecordEstimateOptions extends Omit<EstimateOptions, 'randomPairs' | 'universePairs' | 'twins'> {
  /** Random pairs to sample for u (default 500,000). */
  readonly randomPairs?: number;
  /** Seed of the random-pair sample (default 1). */
  readonly seed?: number;
  /** Twin guard probabilities (defaults 0.95 and 0.05); the guard is left out when the data show no twins. */
  readonly twinLinkProbability?: number;
  readonly twinReviewProbability?: number;
}

/** An index that only blocks (candidates need no model). */
function blockingIndex(): MatchIndex {
  return new MatchIndex({ version: 1, fields: {}, thresholds: { upper: 0, lower: 0 } });
}

/** Model for deduplicating one set of records (an MPI: every record against those before it). */
export function estimateModelForRecords(records: readonly MatchFeatures[], options: RecordEstimateOptions = {}): MatchModel {
  const index = blockingIndex();
  const candidates: RecordPair[] = [];
  for (const f of records) {
    for (const candidate of index.candidates(f)) candidates.push([f, candidate]);
    index.add(f);
  }
  const n = records.length;
  return estimateModel(candidates, {
    ...options,
    randomPairs: sampleRandomPairs(records, options.randomPairs ?? 500_000, options.seed ?? 1),
    universePairs: (n * (n - 1)) / 2,
    ...twinsOption(records, options),
  });
}

/** Model for linking one file (`right`) against another (`left`). */
export function estimateModelForLinkage(
  left: readonly MatchFeatures[],
  right: readonly MatchFeatures[],
  options: RecordEstimateOptions = {},
): MatchModel {
  const index = blockingIndex();
  for (const f of left) index.add(f);
  const candidates: RecordPair[] = [];
  for (const f of right) for (const candidate of index.candidates(f)) candidates.push([f, candidate]);
  return estimateModel(candidates, {
    ...options,
    randomPairs: sampleCrossPairs(left, right, options.randomPairs ?? 500_000, options.seed ?? 1),
    universePairs: left.length * right.length,
    // Twins from one file: across the two files the same person looks like a twin.
    ...twinsOption(left, options),
  });
}

function twinsOption(records: readonly MatchFeatures[], options: RecordEstimateOptions): Pick<EstimateOptions, 'twins'> {
  const twins = estimateTwins(records);
  // A handful of coincidences in a large set is not a twin population worth guarding against.
  if (twins.pairs < 5 || twins.share === 0) return {};
  return {
    twins: {
      share: twins.share,
      given: twins.given,
      ...(twins.sex ? { sex: twins.sex } : {}),
      linkProbability: options.twinLinkProbability ?? 0.95,
      reviewProbability: options.twinReviewProbability ?? 0.05,
    },
  };
}
