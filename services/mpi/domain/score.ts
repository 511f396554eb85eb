/**
 * A Fellegi–Sunter score is a log2 likelihood ratio; clients ($match
 * `search.score`, review Tasks) want a 0..1 number. With the model's prior
 * probability p that a compared pair is the same person, the posterior is
 * 1 / (1 + 2^-(score + log2(p/(1-p)))). It is the same prior the estimation used
 * to place the thresholds, so a score at the link threshold reads as the
 * posterior the thresholds were set for (0.99 in the default model). Without an
 * estimated prior the scale is centred on the middle of the review band.
 */
import type { MatchModel } from './model.js';

export function probabilityOf(score: number, model: MatchModel): number {
  const prior = model.estimation?.prior ?? model.estimation?.matchShare;
  const priorLog2 =
    prior !== undefined && prior > 0 && prior < 1 ? Math.log2(prior / (1 - prior)) : -(model.thresholds.upper + model.thresholds.lower) / 2;
  const posterior = 1 / (1 + 2 ** -(score + priorLog2));
  return Number.isFinite(posterior) ? posterior : score > 0 ? 1 : 0;
}
