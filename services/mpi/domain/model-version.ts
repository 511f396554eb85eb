/**
 * A version of the matching model as the MPI keeps it (model-versions.ts) and as the matching
 * report, the CapabilityStatement and `$match` describe it. Pure: types and their summaries.
 */
import type { EstimationReport } from './estimate.js';
import type { MatchModel } from './model.js';

/**
 * Why a version was estimated: asked for; the first automatic estimation, once a load has brought
 * the index to the fewest records an estimation needs while the configured model was in use; the
 * index grown by the configured share since the model in use was estimated.
 */
export type EstimationTrigger = 'on-demand' | 'initial-load' | 'index-growth';

export interface ModelVersion {
  /** 1, 2, …; 0 is the configured model and is never stored. */
  readonly version: number;
  readonly model: MatchModel;
  readonly report: EstimationReport;
  readonly estimatedAt: string;
  /** Records in the index it was estimated from. */
  readonly records: number;
  readonly trigger: EstimationTrigger;
  /** Who asked (the actor of `$estimate-model`, or the worker). */
  readonly requestedBy: string;
  /** The version in use before this one (0: the configured model). */
  readonly replaced: number;
}

/** What the matching report, the CapabilityStatement and `$match` say about a model. */
export interface ModelSummary {
  readonly version: number;
  readonly source: 'configured' | 'estimated';
  readonly description?: string;
  readonly estimatedAt?: string;
  readonly records?: number;
  readonly trigger?: EstimationTrigger;
  readonly requestedBy?: string;
  readonly thresholds: MatchModel['thresholds'];
  readonly linkProbability?: number;
  readonly reviewProbability?: number;
  /** What the model predicted for itself at its thresholds (estimated versions). */
  readonly expected?: EstimationReport['expected'];
  readonly labelledPairs?: number;
  readonly reviewerAgreement?: number;
  readonly termFrequencies: boolean;
}

export function configuredSummary(model: MatchModel): ModelSummary {
  return {
    version: 0,
    source: 'configured',
    ...(model.description ? { description: model.description } : {}),
    ...(model.estimation?.date ? { estimatedAt: model.estimation.date } : {}),
    thresholds: model.thresholds,
    ...(model.estimation?.linkProbability !== undefined ? { linkProbability: model.estimation.linkProbability } : {}),
    ...(model.estimation?.reviewProbability !== undefined ? { reviewProbability: model.estimation.reviewProbability } : {}),
    termFrequencies: model.termFrequencies !== undefined,
  };
}

export function estimatedSummary(v: ModelVersion): ModelSummary {
  return {
    version: v.version,
    source: 'estimated',
    estimatedAt: v.estimatedAt,
    records: v.records,
    trigger: v.trigger,
    requestedBy: v.requestedBy,
    thresholds: v.model.thresholds,
    linkProbability: v.report.thresholds.linkProbability,
    reviewProbability: v.report.thresholds.reviewProbability,
    expected: v.report.expected,
    labelledPairs: v.report.labelled.pairs,
    ...(v.report.labelled.agreement !== undefined ? { reviewerAgreement: v.report.labelled.agreement } : {}),
    termFrequencies: v.model.termFrequencies !== undefined,
  };
}

/** One line for explanations (`$match`, the CapabilityStatement). */
export function describeModel(s: ModelSummary): string {
  return s.source === 'configured'
    ? `matching model version 0 (the configured model; link ≥ ${s.thresholds.upper}, review ≥ ${s.thresholds.lower})`
    : `matching model version ${s.version}, estimated ${s.estimatedAt} from ${s.records} records (${s.trigger}); link ≥ ${s.thresholds.upper} (P ≥ ${s.linkProbability}), review ≥ ${s.thresholds.lower} (P ≥ ${s.reviewProbability})`;
}
