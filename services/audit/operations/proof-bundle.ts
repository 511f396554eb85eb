/**
 * GET /fhir/AuditEvent/<id>/$proof-bundle?checkpoint=<size | signed checkpoint text>
 *
 * The downloadable proof bundle of one AuditEvent (domain/proof-bundle.ts):
 * entry + inclusion proof + signed checkpoint, checked offline with
 * `infoshare audit verify --bundle FILE`.
 */
import type { Request, Response } from 'express';
import { describeExchange } from '../../../shared/fhir/exchange-context.js';
import { respondJson } from '../../../shared/fhir/express.js';
import type { AuditContext } from '../context.js';
import { singleParam } from './params.js';

export function proofBundle(ctx: AuditContext) {
  return async (req: Request, res: Response): Promise<void> => {
    const id = String(req.params.id);
    describeExchange(res, { subtype: '$proof-bundle', action: 'R', dataCategory: 'audit', entities: [{ reference: `AuditEvent/${id}`, role: 'data' }] });
    const bundle = await ctx.proofs.bundle(id, singleParam(req.query.checkpoint, 'checkpoint'));
    await respondJson(req, res, 200, bundle, {
      headers: { 'Content-Disposition': `attachment; filename="auditevent-${id}-proof.json"` },
    });
  };
}
