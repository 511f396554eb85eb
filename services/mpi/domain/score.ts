/**
 * A Fellegi–Sunter score is a log2 likelihood ratio; clients ($match
 * `search.score`, review Tasks) want a 0..1 number. With prior odds λ/(1-λ) of
 * a candidate pair being the same person, the posterior probability is
 * 1 / (1 + 2^-(score + log2(λ/(1-λ)))). λ comes from the model's estimation;
 * without it we centre the scale on the midpoint of the review band.
 */
import type { MatchModel } from './model.js';

export function probabilityOf(score: number, model: MatchModel): number {
  const lambda = model.estimation?.matchShare;
  const priorLog2 =
    lambda !== undefined && lambda > 0 && lambda < 1 ? Math.log2(lambda / (1 - lambda)) : -(model.thresholds.upper + model.thresholds.lower) / 2;
  const posterior = 1 / (1 + 2 ** -(score + priorLog2));
  return Number.isFinite(posterior) ? posterior : score > 0 ? 1 : 0;
}
