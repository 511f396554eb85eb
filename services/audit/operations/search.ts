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
import { searchQueryOf, servedSearch } from '../../../shared/fhir/rest/search-query.js';
import { RESULT_PARAMS } from '../../../shared/store/search-params.js';
import type { SearchQuery } from '../../../shared/store/search-plan.js';
import { CURSOR_PARAM, cursorValue, parseAuditSearch, type AuditSearchPlan } from '../domain/audit-search.js';
import type { EvidenceContext } from '../evidence-context.js';

const STREAM_ID = /^\d{1,20}-\d{1,20}$/;

/** The plan and the resolved subjects of a search (the patient parameter through the MPI). */
export async function planWithSubjects(ctx: EvidenceContext, query: SearchQuery): Promise<{ plan: AuditSearchPlan; subjects?: string[] }> {
  return withSubjects(ctx, parseAuditSearch(query));
}

async function withSubjects(ctx: EvidenceContext, plan: AuditSearchPlan): Promise<{ plan: AuditSearchPlan; subjects?: string[] }> {
  if (plan.patients.length === 0) return { plan };
  return { plan, subjects: await ctx.subjects.subjectsOf(plan.patients) };
}

/**
 * The parameters of a POST `_search` are its form body AND its URL's query (FHIR R4 3.1.1.3.4:
 * the server combines them), read by `searchQueryOf` — which refuses a paging parameter given
 * in both. The Bundle's next/previous links name the entry they continue from (`_cursor`), so
 * a client walking them sees each entry once while the log grows (`domain/audit-search.ts`).
 */
export function searchAuditEvents(ctx: EvidenceContext): (req: Request, res: Response) => Promise<void> {
  return async (req, res) => {
    const query = searchQueryOf(req, [...RESULT_PARAMS, CURSOR_PARAM]);
    const { plan, subjects } = await withSubjects(ctx, await servedSearch(req, res, query, () => parseAuditSearch(query)));
    const { total, ids, more } = await ctx.index.search(plan, subjects);
    const events = await ctx.index.events(ids);
    const self = new URL(`${ctx.baseUrl}/AuditEvent${query.size > 0 ? `?${query.toString()}` : ''}`);
    const first = ids[0];
    const last = ids[ids.length - 1];
    const cursors = {
      param: CURSOR_PARAM,
      ...(more.after && last !== undefined ? { next: cursorValue({ direction: 'after', id: last }) } : {}),
      ...(more.before && first !== undefined ? { previous: cursorValue({ direction: 'before', id: first }) } : {}),
    };
    const page = { resources: events, ...(total !== undefined ? { total } : {}), offset: plan.offset, count: plan.count, cursors };
    // A GET's query is recorded by the audit shell itself; a POST's parameters are (partly) in its body.
    const entities = req.method === 'POST' ? [{ reference: `AuditEvent?${query.toString()}`, role: 'query' as const }] : [];
    await respond(req, res, 200, searchsetBundle<AuditEvent>(page, self, ctx.baseUrl), { subtype: 'search-type', action: 'E', entities });
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
