/**
 * `GET /evidence?format=json|csv|fhir|html|pdf&since=&until=&partnership=`: the maturity
 * evidence report (`domain/evidence-report.ts`) in the format asked for. Reading it claims no
 * criterion (a report that evidenced itself would count its own readers).
 */
import type { Request, Response } from 'express';
import { respond, respondDocument, respondJson } from '../../../shared/fhir/express.js';
import { badRequest } from '../../../shared/fhir/outcome.js';
import { agencyTypeOf } from '../../../shared/isp/agencies.js';
import { renderDocument } from '../../../shared/render/render.js';
import { dateSpan } from '../../../shared/store/date-range.js';
import { EVIDENCE_FORMATS, isEvidenceFormat, reportBundle, reportCsv, reportDocument } from '../domain/evidence-formats.js';
import type { ReportScope } from '../domain/evidence-report.js';
import type { EvidenceContext } from '../evidence-context.js';

const ID = /^[A-Za-z0-9\-.]{1,64}$/;

/** The report's scope from the query; 400 for anything it cannot honour. */
export function reportScopeOf(query: Request['query']): ReportScope {
  const known = new Set(['format', 'since', 'until', 'partnership']);
  for (const key of Object.keys(query)) if (!known.has(key)) throw badRequest(`Unknown parameter '${key}' for the evidence report (format, since, until, partnership)`, key);
  const text = (key: string): string | undefined => {
    const v = query[key];
    if (v === undefined) return undefined;
    if (typeof v !== 'string') throw badRequest(`'${key}' takes one value`, key);
    return v;
  };
  const scope: { since?: string; until?: string; partnership?: string } = {};
  for (const key of ['since', 'until'] as const) {
    const v = text(key);
    if (v === undefined) continue;
    if (!dateSpan(v)) throw badRequest(`'${v.slice(0, 50)}' is not a date for '${key}' (YYYY, YYYY-MM-DD or an instant)`, key);
    scope[key] = v;
  }
  // A period that ends before it starts is a mistake, not a question whose answer is "no evidence".
  if (scope.since !== undefined && scope.until !== undefined && dateSpan(scope.since)!.lo > dateSpan(scope.until)!.hi) {
    throw badRequest(`'since' (${scope.since.slice(0, 50)}) is after 'until' (${scope.until.slice(0, 50)}): the report would cover no time at all`, 'since');
  }
  const partnership = text('partnership');
  if (partnership !== undefined) {
    if (!ID.test(partnership)) throw badRequest(`'${partnership.slice(0, 50)}' is not a partnership id`, 'partnership');
    scope.partnership = partnership;
  }
  return scope;
}

export function evidenceReport(ctx: EvidenceContext): (req: Request, res: Response) => Promise<void> {
  return async (req, res) => {
    // `format` given twice was answered as JSON, neither of the two asked for (until 2026-12-07).
    if (Array.isArray(req.query.format)) throw badRequest(`'format' takes one value: one of ${EVIDENCE_FORMATS.join(', ')}`, 'format');
    const format = typeof req.query.format === 'string' ? req.query.format : 'json';
    if (!isEvidenceFormat(format)) throw badRequest(`'format' must be one of ${EVIDENCE_FORMATS.join(', ')}`, 'format');
    const scope = reportScopeOf(req.query);
    if (scope.partnership !== undefined) await assertKnownPartnership(ctx, scope.partnership);
    const report = await ctx.reporter.report(scope);
    const described = { subtype: 'evidence-report', action: 'E' as const };
    const attachment = (ext: string) => ({ 'Content-Disposition': `attachment; filename="maturity-evidence.${ext}"` });
    switch (format) {
      case 'json':
        return respondJson(req, res, 200, report, described);
      case 'csv':
        return respondDocument(req, res, 200, reportCsv(report), 'text/csv; charset=utf-8', { ...described, headers: attachment('csv') });
      case 'fhir': {
        const [cited, documents] = await Promise.all([ctx.reporter.citedEvents(report), ctx.documents.resources()]);
        return respond(req, res, 200, reportBundle(report, cited, documents, ctx.baseUrl), described);
      }
      case 'html':
      case 'pdf': {
        const rendered = await renderDocument(reportDocument(report), format);
        return respondDocument(req, res, 200, rendered.body, rendered.contentType, format === 'pdf' ? { ...described, headers: attachment('pdf') } : described);
      }
    }
  };
}

/**
 * A `partnership` the directory does not hold as a partnership, and no logged exchange names, is a mistake
 * (a typo, another hub's id): a 400, not a report of nothing whose every cell reads "not yet" as if the
 * partnership had no evidence. One the directory no longer holds but the log names still reports: its
 * exchanges remain evidence.
 */
async function assertKnownPartnership(ctx: EvidenceContext, id: string): Promise<void> {
  const organization = await ctx.directory.organization(id);
  if (organization && agencyTypeOf(organization) === 'partnership') return;
  if ((await ctx.index.countAll({ partnership: id })) > 0) return;
  throw badRequest(`'${id}' is not a partnership the directory holds, and no exchange in the log names it`, 'partnership');
}
