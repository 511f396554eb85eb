/**
 * `GET /.well-known/smart-configuration` (and under `/fhir`): how to get a
 * token (SMART discovery). It lives beside the FHIR base
 * (`[base]/.well-known/…`); the root copy serves clients given the server's address.
 */
import type { Request, Response } from 'express';
import { describeExchange } from '../../../shared/fhir/exchange-context.js';
import type { DirectoryContext } from '../context.js';
import { smartConfiguration } from '../domain/smart-configuration.js';
import { KEYS_MAX_AGE_SECONDS, sendAuditedJson } from './plain-json.js';

export function smartDiscovery(ctx: DirectoryContext) {
  const { config } = ctx.deps;
  const discovery = smartConfiguration({ issuer: config.token.issuer, tokenUrl: config.token.tokenUrl, jwksUrl: `${config.urls.directory}/auth/jwks.json` });
  return async (req: Request, res: Response): Promise<void> => {
    describeExchange(res, { subtype: 'smart-configuration', action: 'R' });
    await sendAuditedJson(req, res, 200, discovery, { 'Cache-Control': `public, max-age=${KEYS_MAX_AGE_SECONDS}` });
  };
}
