/**
 * The thread a matching model is estimated on (model-estimation.ts): EM over the index's
 * candidate pairs and half a million random pairs takes seconds to a minute of CPU, which
 * must not stop the MPI answering registrations and `$match` meanwhile. Pure work: records
 * in, model and report (or the refusal) out.
 */
import { parentPort } from 'node:worker_threads';
import { estimateMatchingModel, EstimationRefused, type IndexEstimate, type MatchingEstimateOptions } from '../domain/estimate.js';
import type { MatchFeatures } from '../domain/features.js';

export interface EstimationRequest {
  readonly records: readonly MatchFeatures[];
  readonly options: MatchingEstimateOptions;
}

export type EstimationReply =
  | { readonly kind: 'ready' }
  | { readonly kind: 'done'; readonly estimate: IndexEstimate }
  | { readonly kind: 'refused'; readonly message: string }
  | { readonly kind: 'failed'; readonly message: string };

const port = parentPort;
if (port) {
  const reply = (message: EstimationReply) => port.postMessage(message);
  port.on('message', (request: EstimationRequest) => {
    try {
      reply({ kind: 'done', estimate: estimateMatchingModel(request.records, request.options) });
    } catch (err) {
      reply({ kind: err instanceof EstimationRefused ? 'refused' : 'failed', message: err instanceof Error ? err.message : String(err) });
    }
  });
  reply({ kind: 'ready' });
}
