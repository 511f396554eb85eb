/**
 * `POST /fhir/Contract/:id/$sign` (system/Contract.sign): a partner adds (or
 * replaces) its signature → a new Contract version.
 *
 * Takes Parameters with `signature` (valueString): a compact JWS by the
 * calling agency's registered key over `{ isp, digest, iat }` of the current
 * content (shared/isp/signatures.ts `signIsp`). It is accepted only when it
 * verifies for the content as stored now, so a partner cannot sign a version
 * it has not seen; the caller must be the token's agency and a partner.
 */
import type { Request, Response } from 'express';
import { authContext } from '../../../shared/auth/middleware.js';
import { causeOf, describeExchange } from '../../../shared/fhir/exchange-context.js';
import { respond } from '../../../shared/fhir/express.js';
import type { OperationDeclaration } from '../../../shared/fhir/parameters.js';
import { operationArguments } from '../../../shared/fhir/request-body.js';
import { badRequest, conflict, forbidden, isOperationOutcomeError, unprocessable } from '../../../shared/fhir/outcome.js';
import { refusedBySecurityModel } from '../../../shared/fhir/rest/access.js';
import { publicKeysOf } from '../../../shared/isp/agencies.js';
import { parseIspContract, signerEntry } from '../../../shared/isp/contract.js';
import { applySignature, verifyIspSignatures } from '../../../shared/isp/signatures.js';
import type { DirectoryContext } from '../context.js';
import { isCompactJws, ispCriteria } from '../domain/isp-report.js';

/** `$sign`'s one parameter: the partner's compact JWS over the ISP's current content. */
const SIGN = { name: '$sign', parameters: { signature: { kind: 'string', required: true } } } as const satisfies OperationDeclaration;

export function signContract(ctx: DirectoryContext) {
  return async (req: Request, res: Response): Promise<void> => {
    const id = String(req.params.id);
    describeExchange(res, { subtype: '$sign', action: 'U', entities: [{ reference: `Contract/${id}`, role: 'domain-resource' }] });
    const { agency } = authContext(res);
    const contract = await ctx.store.read('Contract', id);
    const isp = parseIspContract(contract);
    if (!isp.partners.some((p) => p.agency === agency)) {
      refusedBySecurityModel(res);
      throw forbidden(`${agency} is not a partner of ISP ${isp.id}, so it cannot sign it`);
    }
    const { signature } = await operationArguments(req, SIGN, ctx.validation);
    if (!isCompactJws(signature)) throw badRequest('The "signature" parameter must be a compact JWS in valueString', "Parameters.parameter.where(name='signature')");

    const now = ctx.now();
    const signed = applySignature(contract, signerEntry({ agency, when: now.toISOString(), jws: signature }));
    const agencies = await ctx.registry.agencies();
    const verification = verifyIspSignatures(signed, publicKeysOf([...agencies.values()]));
    const own = verification.partners.find((p) => p.agency === agency);
    if (!own?.valid) throw unprocessable(own?.detail ?? `The signature of ${agency} does not verify`);

    let stored;
    try {
      ({ resource: stored } = await ctx.store.update(signed, { ifMatch: contract.meta?.versionId, cause: causeOf(req, res) }));
    } catch (err) {
      // Someone changed the ISP between our read and this write: the signature covers content that is gone.
      if (isOperationOutcomeError(err) && err.status === 412) throw conflict(`ISP ${id} changed while it was being signed; sign the current version`);
      throw err;
    }
    await respond(req, res, 200, stored, { criteria: ispCriteria(isp, verification, agencies, now) });
  };
}
