/**
 * GET /fhir/AuditEvent/<id>/$inclusion-proof?checkpoint=<size | signed checkpoint text>
 *
 * The RFC 9162 inclusion proof of one AuditEvent in the log, at the latest
 * signed checkpoint or the one asked for, as FHIR Parameters:
 *   leafIndex, treeSize (valueInteger), leafHash, rootHash (valueBase64Binary),
 *   hash (valueBase64Binary, repeated: the audit path, leaf's sibling first),
 *   checkpoint (valueString: the signed note), origin, entry (valueString: the
 *   canonical entry bytes the leaf hash covers).
 */
import type { Request, Response } from 'express';
import type { Parameters } from 'fhir/r4.js';
import { describeExchange } from '../../../shared/fhir/exchange-context.js';
import { respond } from '../../../shared/fhir/express.js';
import type { AuditContext } from '../context.js';
import { singleParam } from './params.js';

export function inclusionProof(ctx: AuditContext) {
  return async (req: Request, res: Response): Promise<void> => {
    const id = String(req.params.id);
    describeExchange(res, { subtype: '$inclusion-proof', action: 'R', dataCategory: 'audit', entities: [{ reference: `AuditEvent/${id}`, role: 'data' }] });
    const inc = await ctx.proofs.inclusion(id, singleParam(req.query.checkpoint, 'checkpoint'));
    const body: Parameters = {
      resourceType: 'Parameters',
      parameter: [
        { name: 'origin', valueString: ctx.proofs.origin },
        { name: 'leafIndex', valueInteger: inc.leafIndex },
        { name: 'treeSize', valueInteger: inc.treeSize },
        { name: 'leafHash', valueBase64Binary: inc.leafHash },
        { name: 'rootHash', valueBase64Binary: inc.checkpoint.rootHash },
        ...inc.hashes.map((h) => ({ name: 'hash', valueBase64Binary: h })),
        { name: 'checkpoint', valueString: inc.checkpoint.note },
        { name: 'entry', valueString: inc.canonical },
      ],
    };
    await respond(req, res, 200, body);
  };
}
