/**
 * `GET /matching/report` — the matching review an auditor or the partnership's
 * matching lead reads (MI-L5): queue size and age, outcome counts, reviewer
 * decisions, the declared model (MI-L2) and the last benchmark's quality.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import type { Request, Response } from 'express';
import { PROJECT_ROOT } from '../../../shared/config.js';
import { describeExchange } from '../../../shared/fhir/exchange-context.js';
import { respondJson } from '../../../shared/fhir/express.js';
import { buildMatchingReport, type MatchingReport } from '../domain/report.js';
import { openReviewQueue } from '../review-queue.js';
import type { MpiContext } from '../context.js';

export const BENCHMARK_RESULT_FILE = path.join(PROJECT_ROOT, 'bench', 'results', 'matching.json');

export async function matchingReport(ctx: MpiContext): Promise<MatchingReport> {
  const [stats, indexedRecords, open, lastBenchmark, inUse, modelVersions, estimation, reclustering] = await Promise.all([
    ctx.store.getStats(),
    ctx.store.countRecords(),
    openReviewQueue(ctx.tasks),
    fs.readFile(BENCHMARK_RESULT_FILE, 'utf8').then(
      (text) => JSON.parse(text) as unknown,
      () => undefined,
    ),
    ctx.models.current(),
    ctx.models.list(),
    ctx.estimationRequests.pending(),
    ctx.reclusterRequests.pending(),
  ]);
  return buildMatchingReport({
    now: new Date(),
    matchingModel: ctx.config.matchingModel,
    indexedRecords,
    stats,
    openReviews: open.count,
    oldestRequestedAt: open.oldest,
    model: { ...inUse.summary, ...(inUse.model.estimation ? { estimation: inUse.model.estimation } : {}) },
    modelVersions,
    automatic: { ...(estimation ? { estimation } : {}), ...(reclustering ? { reclustering } : {}) },
    lastBenchmark,
  });
}

export function reportEndpoint(ctx: MpiContext) {
  return async (req: Request, res: Response): Promise<void> => {
    describeExchange(res, { subtype: 'matching-report', action: 'R', dataCategory: 'demographics', purpose: 'identity-matching' });
    await respondJson(req, res, 200, await matchingReport(ctx), { criteria: ['MI-L2', 'MI-L5'] });
  };
}
