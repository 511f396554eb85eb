/**
 * The matching review (MI-L5): is the methodology measured and the manual
 * workload under control? Pure: built from the counters, the open review
 * queue and the last benchmark's figures.
 */
import type { ModelSummary } from './model-version.js';

export interface MatchingReport {
  readonly generatedAt: string;
  /** The partnership's declared matching model (MI-L2). */
  readonly matchingModel: 'chi-seeding' | 'matching-indexing' | 'both';
  readonly indexedRecords: number;
  readonly outcomes: {
    readonly linkedAutomatically: number;
    readonly linkedByChi: number;
    readonly queuedForReview: number;
    readonly newPersons: number;
    readonly chiSeeded: number;
    /**
     * Records relabelled when a later record joined their Person through them (a Person's first
     * record, `new`, becomes `level4`/`level3`): not a registration's own outcome, so counted apart.
     */
    readonly relabelled: number;
  };
  readonly reviewQueue: {
    readonly open: number;
    readonly oldestRequestedAt?: string;
    readonly oldestAgeHours?: number;
    /** Reviews withdrawn because a re-submission answered them (streamlined manual review). */
    readonly withdrawn: number;
    /** Merge reviews raised because a new record linked to one Person and was as close to another (one individual indexed twice?). */
    readonly possibleDuplicates: number;
  };
  readonly decisions: {
    readonly link: number;
    readonly notLink: number;
    readonly unlinks: number;
    readonly merges: number;
    readonly byReviewer: Readonly<Record<string, number>>;
    /**
     * How often reviewers agreed with the model: a `link` where the Task's probability was
     * at least 0.5, a `not-link` where it was below (the model's lean at the time it asked).
     */
    readonly agreedWithModel: number;
    readonly disagreedWithModel: number;
    /** agreed / (agreed + disagreed), when any decision was made. */
    readonly agreementWithModel?: number;
  };
  /** The model in use: its version, where it came from, thresholds and target probabilities, what it predicted for itself. */
  readonly model: ModelSummary & { readonly estimation?: unknown };
  /** Every version, the configured model (0) first. */
  readonly modelVersions: readonly ModelSummary[];
  /**
   * What the MPI will do by itself (workers/model-estimation.ts, workers/recluster.ts): an
   * estimation queued for the end of a load (pushed back while the load goes on), a re-clustering
   * pass waiting — `waiting` or `running`. Empty when nothing is pending.
   */
  readonly automatic: {
    readonly estimation?: PendingWork;
    readonly reclustering?: PendingWork;
  };
  /** The last `npm run bench:matching` figures, when a result file exists. */
  readonly lastBenchmark?: unknown;
}

/** Background work queued or running (see `MatchingReport.automatic`). */
export interface PendingWork {
  readonly state: 'waiting' | 'running';
}

export function buildMatchingReport(input: {
  now: Date;
  matchingModel: MatchingReport['matchingModel'];
  indexedRecords: number;
  stats: Readonly<Record<string, number>>;
  openReviews: number;
  oldestRequestedAt?: string;
  model: MatchingReport['model'];
  modelVersions: readonly ModelSummary[];
  automatic?: MatchingReport['automatic'];
  lastBenchmark?: unknown;
}): MatchingReport {
  const s = (k: string) => input.stats[k] ?? 0;
  const byReviewer = Object.fromEntries(
    Object.entries(input.stats)
      .filter(([k]) => k.startsWith('reviewer:'))
      .map(([k, v]) => [k.slice('reviewer:'.length), v]),
  );
  const oldestAgeHours = input.oldestRequestedAt
    ? Math.round(((input.now.getTime() - Date.parse(input.oldestRequestedAt)) / 3_600_000) * 10) / 10
    : undefined;
  return {
    generatedAt: input.now.toISOString(),
    matchingModel: input.matchingModel,
    indexedRecords: input.indexedRecords,
    outcomes: {
      linkedAutomatically: s('linked-auto'),
      linkedByChi: s('linked-chi'),
      queuedForReview: s('review'),
      newPersons: s('new'),
      chiSeeded: s('chi-seeded'),
      relabelled: s('relabelled'),
    },
    reviewQueue: {
      open: input.openReviews,
      ...(input.oldestRequestedAt ? { oldestRequestedAt: input.oldestRequestedAt, oldestAgeHours } : {}),
      withdrawn: s('review-superseded'),
      possibleDuplicates: s('review-duplicate'),
    },
    decisions: {
      link: s('decision-link'),
      notLink: s('decision-not-link'),
      unlinks: s('correction-unlink'),
      merges: s('correction-merge'),
      byReviewer,
      agreedWithModel: s('reviewer-agreed'),
      disagreedWithModel: s('reviewer-disagreed'),
      ...(s('reviewer-agreed') + s('reviewer-disagreed') > 0
        ? { agreementWithModel: Math.round((s('reviewer-agreed') / (s('reviewer-agreed') + s('reviewer-disagreed'))) * 1000) / 1000 }
        : {}),
    },
    model: input.model,
    modelVersions: input.modelVersions,
    automatic: input.automatic ?? {},
    ...(input.lastBenchmark !== undefined ? { lastBenchmark: input.lastBenchmark } : {}),
  };
}
