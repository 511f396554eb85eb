/**
 * `GET /fhir/AuditEvent/$export?<search parameters>`: every matching AuditEvent, oldest first,
 * as NDJSON (`application/fhir+ndjson`, one event per line), streamed — a snapshot of the
 * matching ids is read a batch at a time and each batch written as the client takes it, so an
 * export of the whole log never sits in memory. `_count`/`_offset`/`_cursor`/`_sort` do not apply (400).
 */
import type { Request, Response } from 'express';
import { startAuditedStream, writeChunk } from '../../../shared/fhir/express.js';
import { badRequest } from '../../../shared/fhir/outcome.js';

import { CURSOR_PARAM } from '../domain/audit-search.js';
import type { EvidenceContext } from '../evidence-context.js';
import { planWithSubjects } from './search.js';

const BATCH = 500;

export function exportAuditEvents(ctx: EvidenceContext): (req: Request, res: Response) => Promise<void> {
  return async (req, res) => {
    for (const key of ['_count', '_offset', '_summary', '_total', '_sort', CURSOR_PARAM]) {
      if (req.query[key] !== undefined) throw badRequest(`'${key}' does not apply to $export: it streams every match`, key);
    }
    const { plan, subjects } = await planWithSubjects(ctx, req.query);
    const started = await startAuditedStream(req, res, 200, 'application/fhir+ndjson', {
      subtype: '$export',
      action: 'E',
      headers: { 'Content-Disposition': 'attachment; filename="audit-events.ndjson"' },
    });
    if (!started) return;
    let open = true;
    try {
      for await (const ids of ctx.index.exportIds(plan, subjects, BATCH)) {
        const events = await ctx.index.events(ids);
        open = await writeChunk(res, events.map((e) => `${JSON.stringify(e)}\n`).join(''));
        if (!open) break;
      }
    } catch (err) {
      // Headers are gone: end the body short; a client counting lines against the search total sees it.
      res.destroy(err instanceof Error ? err : new Error(String(err)));
      return;
    }
    if (open) res.end();
  };
}
