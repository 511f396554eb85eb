import type { MatchModel } from './model.js';
import { matchProbability } from './engine.js';

const model = (estimation?: MatchModel['estimation']): MatchModel =>
  ({ version: 1, fields: {}, thresholds: { upper: 20, lower: 10 }, ...(estimation ? { estimation } : {}) }) as unknown as MatchModel;

describe('matchProbability', () => {
  it('reads a score at the link threshold as the posterior the thresholds were set for', () => {
    // prior 2^-13.3 ≈ 1e-4: at score 20 the posterior is 1/(1+2^-6.7) ≈ 0.99
    const p = matchProbability(20, model({ method: 'em', prior: 1 / (1 + 2 ** 13.3) }));
    expect(p).toBeGreaterThan(0.985);
    expect(p).toBeLessThan(0.995);
  });

  it('rises with the score and stays within 0..1', () => {
    const m = model({ method: 'em', prior: 1e-5 });
    const scores = [-40, -5, 0, 10, 20, 40, 2000].map((s) => matchProbability(s, m));
    for (let i = 1; i < scores.length; i++) expect(scores[i]!).toBeGreaterThanOrEqual(scores[i - 1]!);
    expect(scores[0]).toBeGreaterThanOrEqual(0);
    expect(scores.at(-1)).toBeLessThanOrEqual(1);
  });

  it('centres on the review band when the model carries no estimated prior', () => {
    expect(matchProbability(15, model())).toBeCloseTo(0.5, 5);
  });
});
