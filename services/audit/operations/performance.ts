/**
 * `GET /performance?last=N`: the latest performance summaries (per service and exchange type:
 * volume, p50, p99, failures), oldest first — the measures analysed and reported (SI-L5) once
 * there is at least one. Asked for before the first interval has ended, it takes the first summary
 * there and then rather than answer none.
 */
import type { Request, Response } from 'express';
import { respondJson } from '../../../shared/fhir/express.js';
import { badRequest } from '../../../shared/fhir/outcome.js';
import type { EvidenceContext } from '../evidence-context.js';
import type { PerformanceSummary } from '../domain/performance.js';

/** SI-L5: performance measures analysed and reported to drive improvement. */
export const PERFORMANCE_REPORTED_CRITERIA = ['SI-L5'];

export function performanceReport(ctx: EvidenceContext): (req: Request, res: Response) => Promise<void> {
  return async (req, res) => {
    const raw = req.query.last ?? '60';
    if (typeof raw !== 'string' || !/^\d{1,5}$/.test(raw) || Number(raw) < 1) throw badRequest(`'last' must be a whole number of summaries from 1`, 'last');
    const summaries = await performanceSummaries(ctx, Math.min(Number(raw), 10_080));
    await respondJson(req, res, 200, { summaries }, { subtype: 'performance-report', action: 'E', criteria: summaries.length ? PERFORMANCE_REPORTED_CRITERIA : [] });
  };
}

/** The latest `n` summaries, oldest first; the first one taken at once if there is none yet. */
export async function performanceSummaries(ctx: EvidenceContext, n: number): Promise<PerformanceSummary[]> {
  const summaries = await ctx.performance.latest(n);
  if (summaries.length > 0 || !ctx.firstPerformanceSummary) return summaries;
  await ctx.firstPerformanceSummary();
  return ctx.performance.latest(n);
}
