/**
 * `GET /.well-known/smart-configuration` (and under `/fhir`): how to get a
 * token (SMART discovery). It lives beside the FHIR base
 * (`[base]/.well-known/…`); the root copy serves clients given the server's address.
 * The other services publish the same document without the scope list (the service shell).
 */
import type { Request, Response } from 'express';
import { smartEndpointsOf } from '../../../shared/auth/smart-configuration.js';
import { describeExchange } from '../../../shared/fhir/exchange-context.js';
import type { DirectoryContext } from '../context.js';
import { directorySmartConfiguration } from '../domain/smart-configuration.js';
import { KEYS_MAX_AGE_SECONDS, sendAuditedJson } from './plain-json.js';

export function smartDiscovery(ctx: DirectoryContext) {
  const discovery = directorySmartConfiguration(smartEndpointsOf(ctx.deps.config));
  return async (req: Request, res: Response): Promise<void> => {
    describeExchange(res, { subtype: 'smart-configuration', action: 'R' });
    await sendAuditedJson(req, res, 200, discovery, { 'Cache-Control': `public, max-age=${KEYS_MAX_AGE_SECONDS}` });
  };
}
