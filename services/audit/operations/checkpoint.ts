/**
 * GET /log/checkpoint[?size=<tree size>]   the latest signed checkpoint (or the one of that size), as the
 *                                          signed note an auditor keeps (text/plain; C2SP tlog-checkpoint)
 * GET /log/key                             the signed-note verifier key of the log (text/plain), and the
 *                                          partnership's public key in the directory's JWKS is the same key
 */
import type { Request, Response } from 'express';
import { describeExchange } from '../../../shared/fhir/exchange-context.js';
import { respondText } from '../../../shared/fhir/express.js';
import type { AuditContext } from '../context.js';
import { treeSizeParam } from './params.js';

const NOTE_TYPE = 'text/plain; charset=utf-8';

export function latestCheckpoint(ctx: AuditContext) {
  return async (req: Request, res: Response): Promise<void> => {
    describeExchange(res, { subtype: '$checkpoint', action: 'R', dataCategory: 'audit' });
    const size = treeSizeParam(req.query.size, 'size');
    const checkpoint = await ctx.proofs.checkpoint(size === undefined ? undefined : String(size), 'size');
    await respondText(req, res, 200, NOTE_TYPE, checkpoint.note, {
      headers: { 'X-Tree-Size': String(checkpoint.size), 'X-Checkpoint-Issued': checkpoint.issued },
    });
  };
}

export function verifierKey(ctx: AuditContext) {
  return async (req: Request, res: Response): Promise<void> => {
    describeExchange(res, { subtype: '$log-key', action: 'R', dataCategory: 'audit' });
    await respondText(req, res, 200, NOTE_TYPE, `${ctx.signer.verifierKey}\n`);
  };
}
