/**
 * `GET /fhir/Contract/:id/$verify` (system/Contract.read): per partner,
 * whether it signed, whether the signature is valid for the current content,
 * and why not.
 */
import type { Request, Response } from 'express';
import { describeExchange } from '../../../shared/fhir/exchange-context.js';
import { respond } from '../../../shared/fhir/express.js';
import { publicKeysOf } from '../../../shared/isp/agencies.js';
import { parseIspContract } from '../../../shared/isp/contract.js';
import { verifyIspSignatures } from '../../../shared/isp/signatures.js';
import type { DirectoryContext } from '../context.js';
import { ispCriteria, verificationParameters } from '../domain/isp-report.js';

export function verifyContract(ctx: DirectoryContext) {
  return async (req: Request, res: Response): Promise<void> => {
    const id = String(req.params.id);
    describeExchange(res, { subtype: '$verify', action: 'E', entities: [{ reference: `Contract/${id}`, role: 'domain-resource' }] });
    const contract = await ctx.store.read('Contract', id);
    const isp = parseIspContract(contract);
    const agencies = await ctx.registry.agencies();
    const verification = verifyIspSignatures(contract, publicKeysOf([...agencies.values()]));
    const now = ctx.now();
    await respond(req, res, 200, verificationParameters(isp, verification, now), { criteria: ispCriteria(isp, verification, agencies, now) });
  };
}
