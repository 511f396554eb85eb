/**
 * The security check in front of a route: a valid access token holding the
 * route's scopes. A request it refuses (401/403) is a correct refusal under the
 * partnership's one security model, so its audit record carries SI-L3 as
 * evidence; once the check passes, later refusals (404, 422…) do not.
 */
import type { RequestHandler, Response } from 'express';
import { requireScope, type ScopeRequirement } from '../../auth/middleware.js';
import { describeExchange } from '../exchange-context.js';

/** SI-L3: every exchange authenticated and authorised under one security model. */
export const SECURITY_MODEL_CRITERIA = ['SI-L3'] as const;

const securityCheckStarts: RequestHandler = (_req, res, next) => {
  describeExchange(res, { criteriaOnDenial: [...SECURITY_MODEL_CRITERIA] });
  next();
};

const securityCheckPassed: RequestHandler = (_req, res, next) => {
  describeExchange(res, { criteriaOnDenial: [] });
  next();
};

/**
 * `authenticate` (shared/auth/middleware.ts, built once per service) then
 * `requireScope(...scopes)`, with refusals audited as SI-L3 evidence.
 */
export function requireAccess(authenticate: RequestHandler, ...scopes: ScopeRequirement[]): RequestHandler[] {
  return [securityCheckStarts, authenticate, ...(scopes.length > 0 ? [requireScope(...scopes)] : []), securityCheckPassed];
}

/** Marks a refusal about to be thrown (e.g. "not your agency's record") as a security-model refusal. */
export function refusedBySecurityModel(res: Response): void {
  describeExchange(res, { criteriaOnDenial: [...SECURITY_MODEL_CRITERIA] });
}

/**
 * Marks a refusal answered as an unknown id (a denied read or action never reveals that what it named
 * exists) as a security-model refusal, with the real reason in the audit record only.
 */
export function deniedAsUnknown(res: Response, reason: string): void {
  describeExchange(res, { criteriaOnDenial: [...SECURITY_MODEL_CRITERIA], outcomeDescription: `denied, answered as an unknown id: ${reason}` });
}
