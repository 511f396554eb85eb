/**
 * Estimating the partnership's matching model over the records in its index (MI-L5): what
 * `POST /fhir/$estimate-model`, `infoshare matching estimate` and the automatic
 * re-estimation (workers/model-estimation.ts) all run. The records' match features are read
 * from Redis a few thousand at a time, reviewer decisions become labelled pairs, the EM runs
 * on a worker thread (the MPI keeps answering meanwhile), and the result is stored as a new
 * model version, in use from the next registration, with its change record.
 *
 * Refusals (an index too small, too few people recorded twice) leave the model in use as it is.
 */
import { changeRecord, outboxEntryArgs, type ChangeCause } from '../../shared/audit/outbox.js';
import { startScriptThread } from '../../shared/runtime/script-thread.js';
import type { EstimationSettings } from './config.js';
import { EstimationRefused, type IndexEstimate, type LabelledPair, type MatchingEstimateOptions } from './domain/estimate.js';
import type { MatchFeatures } from './domain/features.js';
import type { EstimationTrigger, ModelVersion } from './domain/model-version.js';
import type { ModelVersions } from './model-versions.js';
import type { MpiStore } from './store.js';
import type { EstimationReply, EstimationRequest } from './workers/estimation-thread.js';

export interface EstimationRequestBy {
  readonly trigger: EstimationTrigger;
  /** The actor (`PractitionerRole/…`, `Organization/…`) or the worker. */
  readonly requestedBy: string;
  readonly cause: ChangeCause;
}

export interface ModelEstimationDeps {
  readonly store: MpiStore;
  readonly versions: ModelVersions;
  readonly settings: EstimationSettings;
  readonly now?: () => Date;
  /**
   * Told once a new version is in use. The MPI asks for a re-clustering pass here: the
   * Persons registration made under the former model are decided again under the new one,
   * rather than only once the next registration happens to ask for a pass.
   */
  readonly onModelChanged?: (cause: ChangeCause, version: number) => Promise<void>;
}

/** Whether the index has grown enough since the model in use was estimated to estimate again. */
export interface GrowthCheck {
  readonly due: boolean;
  readonly records: number;
  /** Records the model in use was estimated from (0 for the configured model), or the last refused attempt under it saw. */
  readonly baseline: number;
  readonly version: number;
}

export class ModelEstimation {
  private readonly now: () => Date;

  constructor(private readonly deps: ModelEstimationDeps) {
    this.now = deps.now ?? (() => new Date());
  }

  /** Estimates from the index and makes the result the model in use; EstimationRefused when the index cannot support it. */
  async estimate(request: EstimationRequestBy): Promise<ModelVersion> {
    const { store, versions } = this.deps;
    const [count, inUse] = await Promise.all([store.countRecords(), versions.current()]);
    try {
      return await this.estimateFrom(count, inUse.version, request);
    } catch (err) {
      // The next automatic attempt waits for the index to grow by the share from here, not the next registration.
      if (err instanceof EstimationRefused) await versions.recordRefusal(inUse.version, count).catch(() => undefined);
      throw err;
    }
  }

  private async estimateFrom(count: number, inUse: number, request: EstimationRequestBy): Promise<ModelVersion> {
    const { store, versions, settings } = this.deps;
    // Refused before reading anything when the count alone settles it.
    if (count < settings.minRecords) {
      throw new EstimationRefused(`The index holds ${count} record(s); estimating a matching model needs at least ${settings.minRecords}. The model in use stays.`);
    }
    const records = await store.allFeatures();
    const labelledPairs = labelled(records, await store.recordPairDecisions());
    const at = this.now().toISOString();
    const estimate = await estimateOffThread(records, {
      linkProbability: settings.linkProbability,
      reviewProbability: settings.reviewProbability,
      minRecords: settings.minRecords,
      labelledPairs,
      date: at,
      source: `the partnership index (${records.length} records, ${labelledPairs.length} reviewer decisions)`,
      description: "The partnership's own matching model, estimated from the records in its index (m by EM, u from random pairs, term frequencies).",
    });
    const entry: Omit<ModelVersion, 'version'> = {
      model: estimate.model,
      report: estimate.report,
      estimatedAt: at,
      records: records.length,
      trigger: request.trigger,
      requestedBy: request.requestedBy,
      replaced: inUse,
    };
    const record = changeRecord(
      { requestId: request.cause.requestId, service: 'mpi', agent: request.cause.agent },
      {
        subtype: '$estimate-model',
        action: 'U',
        entities: [{ reference: 'Basic/matching-model', role: 'domain-resource', description: `replaces version ${inUse}` }],
        outcomeDescription:
          `Matching model estimated from ${records.length} records (${request.trigger}); link ≥ ${estimate.model.thresholds.upper}, ` +
          `review ≥ ${estimate.model.thresholds.lower}; replaces version ${inUse}`,
      },
      'mpi-model',
    );
    const version = await versions.add(entry, outboxEntryArgs(record));
    // The new version stands whatever happens to the request for a pass (the next registration asks again).
    await this.deps.onModelChanged?.(request.cause, version).catch(() => undefined);
    return { ...entry, version };
  }

  /** Whether estimations run by themselves at all (INFOSHARE_MATCH_REESTIMATE_GROWTH > 0). */
  get automatic(): boolean {
    return this.deps.settings.reestimateGrowth > 0;
  }

  /**
   * Is an estimation due? The first once the index holds the fewest records an estimation needs
   * (the configured model counts as estimated from none), then each time the index has grown by
   * the configured share since the model in use was estimated — or since the last refused
   * attempt under it, so a refusal is not retried at every registration. One round trip: run
   * after every registration that changed the index (workers/model-estimation.ts).
   */
  async growthCheck(): Promise<GrowthCheck> {
    const { store, versions, settings } = this.deps;
    const [records, inUse, refusal] = await Promise.all([store.countRecords(), versions.current(), versions.lastRefusal()]);
    const estimatedFrom = inUse.summary.records ?? 0;
    const baseline = refusal?.version === inUse.version ? Math.max(estimatedFrom, refusal.records) : estimatedFrom;
    const due = settings.reestimateGrowth > 0 && records >= settings.minRecords && records >= baseline * (1 + settings.reestimateGrowth) && records > baseline;
    return { due, records, baseline, version: inUse.version };
  }
}

/** Reviewer decisions about pairs of records both still indexed, as labelled pairs. */
function labelled(records: readonly MatchFeatures[], decisions: ReadonlyMap<string, { readonly decision: 'link' | 'not-link' }>): LabelledPair[] {
  if (decisions.size === 0) return [];
  const byId = new Map(records.map((r) => [r.id, r]));
  const pairs: LabelledPair[] = [];
  for (const [pair, { decision }] of decisions) {
    const [a, b] = pair.split('|').map((id) => byId.get(id));
    if (a && b) pairs.push({ a, b, same: decision === 'link' });
  }
  return pairs;
}

/** Runs `estimateMatchingModel` on a thread of its own (workers/estimation-thread.ts), then stops the thread. */
export function estimateOffThread(records: readonly MatchFeatures[], options: MatchingEstimateOptions): Promise<IndexEstimate> {
  const thread = startScriptThread(new URL('./workers/', import.meta.url).href, 'estimation-thread');
  return new Promise<IndexEstimate>((resolve, reject) => {
    let settled = false;
    const finish = (fn: () => void) => {
      if (settled) return;
      settled = true;
      fn();
      void thread.terminate();
    };
    thread.on('message', (reply: EstimationReply) => {
      switch (reply.kind) {
        case 'ready':
          thread.postMessage({ records, options } satisfies EstimationRequest);
          return;
        case 'done':
          finish(() => resolve(reply.estimate));
          return;
        case 'refused':
          finish(() => reject(new EstimationRefused(reply.message)));
          return;
        case 'failed':
          finish(() => reject(new Error(`Estimating the matching model failed: ${reply.message}`)));
          return;
      }
    });
    thread.on('error', (err) => finish(() => reject(err)));
    thread.on('exit', (code) => finish(() => reject(new Error(`The estimation thread stopped (exit code ${code}) before answering`))));
  });
}
