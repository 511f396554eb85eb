/**
 * Documentary evidence (`domain/documentary.ts`): an auditor with `system/AuditEvent.attest`
 * attaches a DocumentReference to a documentary cell (`POST /fhir/DocumentReference`); auditors
 * list and read them. Stored with its change record (`documentary.ts`).
 */
import { randomUUID } from 'node:crypto';
import type { Request, Response } from 'express';
import type { DocumentReference } from 'fhir/r4.js';
import { searchsetBundle } from '../../../shared/fhir/bundle.js';
import { causeOf } from '../../../shared/fhir/exchange-context.js';
import { respond } from '../../../shared/fhir/express.js';
import { searchQueryOf, servedSearch } from '../../../shared/fhir/rest/search-query.js';
import { notFound } from '../../../shared/fhir/outcome.js';
import { assertValidResource } from '../../../shared/fhir/validate.js';
import { ResultParamsReader, queryPairs } from '../../../shared/store/search-plan.js';
import { unservedSearchParameter } from '../../../shared/fhir/unserved-search-parameter.js';
import type { EvidenceContext } from '../evidence-context.js';

export function attachDocument(ctx: EvidenceContext): (req: Request, res: Response) => Promise<void> {
  return async (req, res) => {
    const resource = assertValidResource<DocumentReference>(req.body, 'DocumentReference');
    const id = randomUUID();
    const cause = causeOf(req, res);
    const stored = await ctx.documents.add(resource, id, cause);
    await ctx.relay.flushQuietly(cause.requestId);
    await respond(req, res, 201, stored, {
      subtype: 'create',
      action: 'C',
      entities: [{ reference: `DocumentReference/${id}`, role: 'domain-resource' }],
      location: `${ctx.baseUrl}/DocumentReference/${id}`,
      // Recording documentary evidence is the auditing the log is for; the document itself is judged by the auditor, not claimed here.
    });
  };
}

export function listDocuments(ctx: EvidenceContext): (req: Request, res: Response) => Promise<void> {
  return async (req, res) => {
    const query = searchQueryOf(req);
    const params = await servedSearch(req, res, query, () => {
      const result = new ResultParamsReader();
      for (const [key, raw] of queryPairs(query)) if (!result.read(key, raw)) throw unservedSearchParameter('DocumentReference', key, []);
      return result.params();
    });
    const all = await ctx.documents.resources();
    const page = all.slice(params.offset, params.offset + params.count);
    // The self link is the search as asked (FHIR: replayable as it stands), `_count` and all.
    const self = new URL(`${ctx.baseUrl}/DocumentReference${query.size > 0 ? `?${query.toString()}` : ''}`);
    const bundle = searchsetBundle<DocumentReference>({ resources: page, ...(params.total ? { total: all.length } : {}), offset: params.offset, count: params.count }, self, ctx.baseUrl);
    await respond(req, res, 200, bundle, { subtype: 'search-type', action: 'E' });
  };
}

export function readDocument(ctx: EvidenceContext): (req: Request, res: Response) => Promise<void> {
  return async (req, res) => {
    const id = String(req.params.id ?? '');
    const doc = /^[A-Za-z0-9\-.]{1,64}$/.test(id) ? await ctx.documents.read(id) : undefined;
    if (!doc) throw notFound(`No DocumentReference ${id.slice(0, 64)}`);
    await respond(req, res, 200, doc, { subtype: 'read', action: 'R' });
  };
}
