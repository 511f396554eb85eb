/**
 * GET /log/consistency?from=<size>&to=<size>
 *
 * The RFC 9162 consistency proof that the tree of `to` entries extends the
 * tree of `from` entries (`to` defaults to the latest checkpoint), as JSON:
 *   { origin, from, to, fromRoot, toRoot, hashes: [base64…], toCheckpoint?: <signed note> }
 * An auditor checks it against the root of the checkpoint they kept (never
 * `fromRoot`, which is the log's own say-so) and the signed `toCheckpoint`.
 */
import type { Request, Response } from 'express';
import { describeExchange } from '../../../shared/fhir/exchange-context.js';
import { respondJson } from '../../../shared/fhir/express.js';
import { badRequest } from '../../../shared/fhir/outcome.js';
import type { AuditContext } from '../context.js';
import { treeSizeParam } from './params.js';

export function consistencyProof(ctx: AuditContext) {
  return async (req: Request, res: Response): Promise<void> => {
    describeExchange(res, { subtype: '$consistency-proof', action: 'R', dataCategory: 'audit' });
    const from = treeSizeParam(req.query.from, 'from');
    if (from === undefined) throw badRequest('Name the size of the checkpoint you kept: ?from=<tree size>', 'from');
    const answer = await ctx.proofs.consistency(from, treeSizeParam(req.query.to, 'to'));
    await respondJson(req, res, 200, answer);
  };
}
