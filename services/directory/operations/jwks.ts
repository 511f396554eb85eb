/** `GET /auth/jwks.json`: the public key access tokens are signed with, for every service verifying them. */
import type { Request, Response } from 'express';
import { publicJwks } from '../../../shared/auth/keys.js';
import { describeExchange } from '../../../shared/fhir/exchange-context.js';
import type { DirectoryContext } from '../context.js';
import { KEYS_MAX_AGE_SECONDS, sendAuditedJson } from './plain-json.js';

export function jwks(ctx: DirectoryContext) {
  const keySet = publicJwks([ctx.signingKey]);
  return async (req: Request, res: Response): Promise<void> => {
    describeExchange(res, { subtype: 'jwks', action: 'R' });
    await sendAuditedJson(req, res, 200, keySet, { 'Cache-Control': `public, max-age=${KEYS_MAX_AGE_SECONDS}` });
  };
}
