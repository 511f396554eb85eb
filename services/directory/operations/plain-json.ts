/**
 * Answers that are plain JSON rather than FHIR resources (OAuth token
 * responses, the JWKS, SMART discovery), audited like every other answer.
 */
import type { Request, Response } from 'express';
import type { AuditSink } from '../../../shared/audit/exchange.js';
import { auditExchange } from '../../../shared/fhir/exchange-context.js';

/** Services refetch the JWKS (and SMART discovery) at most this often unless a token names a new key. */
export const KEYS_MAX_AGE_SECONDS = 300;

/**
 * Audits, then sends plain JSON. If the audit write fails it throws, and the
 * error handler answers 503: nothing is handed out unaudited.
 */
export async function sendAuditedJson(req: Request, res: Response, status: number, body: unknown, headers: Readonly<Record<string, string>>): Promise<void> {
  await auditExchange(req, res, res.app.locals.audit as AuditSink, status);
  res.status(status).set(headers).json(body);
}
