/**
 * The auditor's web page: `GET /` (the shell, no data, no token needed), `GET /page/app.js`
 * (its script), and the fragments the script fetches with the auditor's token — the overview
 * (log status + Annex B grid), one cell, a page of the log, the performance panel. Rendered on
 * the server (`domain/page.ts`).
 */
import type { Request, Response } from 'express';
import { respondDocument } from '../../../shared/fhir/express.js';
import { notFound } from '../../../shared/fhir/outcome.js';
import type { SearchQuery } from '../../../shared/store/search-plan.js';
import { accessSummaryOf } from '../domain/access-summary.js';
import { cellsOf } from '../domain/evidence-report.js';
import { cellFragment, isGridCode, logFragment, overviewFragment, pageShell, performanceFragment } from '../domain/page.js';
import { PAGE_SCRIPT } from '../domain/page-script.js';
import type { EvidenceContext } from '../evidence-context.js';
import { PERFORMANCE_REPORTED_CRITERIA, performanceSummaries } from './performance.js';
import { planWithSubjects } from './search.js';

const HTML = 'text/html; charset=utf-8';
/** The page's own script only; no inline script, no other origin. */
const PAGE_HEADERS = {
  'Content-Security-Policy': "default-src 'none'; script-src 'self'; style-src 'unsafe-inline'; connect-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
  'X-Content-Type-Options': 'nosniff',
};

export const TOKEN_HINT = 'npx infoshare token --agency nhs-lothian --scope system/AuditEvent.read';

export function pageShellHandler(): (req: Request, res: Response) => Promise<void> {
  const body = pageShell({ scriptPath: '/page/app.js', tokenHint: TOKEN_HINT });
  return async (req, res) => respondDocument(req, res, 200, body, HTML, { subtype: 'auditor-page', action: 'R', headers: PAGE_HEADERS });
}

export function pageScriptHandler(): (req: Request, res: Response) => Promise<void> {
  return async (req, res) =>
    respondDocument(req, res, 200, PAGE_SCRIPT, 'text/javascript; charset=utf-8', { subtype: 'auditor-page', action: 'R', headers: { 'X-Content-Type-Options': 'nosniff' } });
}

export function overviewHandler(ctx: EvidenceContext): (req: Request, res: Response) => Promise<void> {
  return async (req, res) => {
    const [report, status] = await Promise.all([ctx.reporter.report(), ctx.logStatus()]);
    await respondDocument(req, res, 200, overviewFragment(report, status), HTML, { subtype: 'evidence-report', action: 'E' });
  };
}

export function cellHandler(ctx: EvidenceContext): (req: Request, res: Response) => Promise<void> {
  return async (req, res) => {
    const code = String(req.params.code ?? '');
    if (!isGridCode(code)) throw notFound(`No cell ${code.slice(0, 20)} in the Annex B grid`);
    const report = await ctx.reporter.report();
    const cell = cellsOf(report).find((c) => c.code === code)!;
    const events = await ctx.index.events(cell.samples.map((s) => s.id));
    await respondDocument(req, res, 200, cellFragment(cell, events, accessSummaryOf), HTML, { subtype: 'evidence-report', action: 'E' });
  };
}

export function logHandler(ctx: EvidenceContext): (req: Request, res: Response) => Promise<void> {
  return async (req, res) => {
    const query = req.query as SearchQuery;
    const { plan, subjects } = await planWithSubjects(ctx, { _count: '25', ...query });
    const { total, ids, more } = await ctx.index.search({ ...plan, total: true }, subjects);
    const rows = (await ctx.index.events(ids)).map(accessSummaryOf);
    const shown = new URLSearchParams();
    for (const [k, v] of Object.entries(query)) if (typeof v === 'string' && !k.startsWith('_')) shown.append(k, v);
    const first = !plan.cursor && plan.offset === 0;
    await respondDocument(req, res, 200, logFragment({ total: total ?? 0, rows, more, first, query: shown.toString() }), HTML, {
      subtype: 'search-type',
      action: 'E',
    });
  };
}

export function performancePanelHandler(ctx: EvidenceContext): (req: Request, res: Response) => Promise<void> {
  return async (req, res) => {
    const summaries = await performanceSummaries(ctx, 60);
    await respondDocument(req, res, 200, performanceFragment(summaries), HTML, { subtype: 'performance-report', action: 'E', criteria: summaries.length ? PERFORMANCE_REPORTED_CRITERIA : [] });
  };
}
