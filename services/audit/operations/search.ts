/**
 * `GET /fhir/AuditEvent` (and `POST /fhir/AuditEvent/_search`): the exchange log searched by
 * date, agent, patient, outcome, type, subtype, criterion and service (`domain/audit-search.ts`),
 * newest first, with exact totals and paging links; and `GET /fhir/AuditEvent/{id}`.
 * Auditor scope only. Reading the log claims no maturity criterion: SI-L4 is shown by the
 * performance summaries the log records (performance.ts), not by someone reading the log.
 */
import type { Request, Response } from 'express';
import type { AuditEvent } from 'fhir/r4.js';
import { searchsetBundle } from '../../../shared/fhir/bundle.js';
import { respond } from '../../../shared/fhir/express.js';
import { notFound } from '../../../shared/fhir/outcome.js';
import type { SearchQuery } from '../../../shared/store/search-plan.js';
import { parseAuditSearch, type AuditSearchPlan } from '../domain/audit-search.js';
import type { EvidenceContext } from '../evidence-context.js';

const STREAM_ID = /^\d{1,20}-\d{1,20}$/;

/** The plan and the resolved subjects of a search (the patient parameter through the MPI). */
export async function planWithSubjects(ctx: EvidenceContext, query: SearchQuery): Promise<{ plan: AuditSearchPlan; subjects?: string[] }> {
  const plan = parseAuditSearch(query);
  if (plan.patients.length === 0) return { plan };
  return { plan, subjects: await ctx.subjects.subjectsOf(plan.patients) };
}

export function searchAuditEvents(ctx: EvidenceContext): (req: Request, res: Response) => Promise<void> {
  return async (req, res) => {
    const query = (req.method === 'POST' ? (req.body as SearchQuery) : req.query);
    const { plan, subjects } = await planWithSubjects(ctx, query);
    const { total, ids } = await ctx.index.search(plan, subjects);
    const events = await ctx.index.events(ids);
    const self = new URL(`${ctx.baseUrl}/AuditEvent`);
    for (const [k, v] of Object.entries(query)) for (const one of Array.isArray(v) ? v : [v]) if (typeof one === 'string') self.searchParams.append(k, one);
    const bundle = searchsetBundle<AuditEvent>({ resources: events, ...(total !== undefined ? { total } : {}), offset: plan.offset, count: plan.count }, self, ctx.baseUrl);
    await respond(req, res, 200, bundle, { subtype: 'search-type', action: 'E' });
  };
}

export function readAuditEvent(ctx: EvidenceContext): (req: Request, res: Response) => Promise<void> {
  return async (req, res) => {
    const id = String(req.params.id ?? '');
    const [event] = STREAM_ID.test(id) ? await ctx.index.events([id]) : [];
    if (!event) throw notFound(`No AuditEvent ${id.slice(0, 64)} in the log`);
    await respond(req, res, 200, event, { subtype: 'read', action: 'R', entities: [{ reference: `AuditEvent/${id}`, role: 'domain-resource' }] });
  };
}
