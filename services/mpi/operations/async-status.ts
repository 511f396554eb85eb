/**
 * The status URL of a background registration (`Prefer: respond-async`, see
 * workers/registrations.ts), as in FHIR's asynchronous request pattern:
 *
 *   GET    /fhir/_async/{id}  202 + X-Progress while registering; 200 + the transaction-response when done;
 *                             the refusal (e.g. 403) if it failed; 404 if unknown to the caller
 *   DELETE /fhir/_async/{id}  202: cancelled before it started, or the finished result forgotten;
 *                             409 while it is registering (never stopped half-way)
 */
import type { Request, Response } from 'express';
import { authContext } from '../../../shared/auth/middleware.js';
import { describeExchange } from '../../../shared/fhir/exchange-context.js';
import { respond } from '../../../shared/fhir/express.js';
import { conflict, informational, notFound } from '../../../shared/fhir/outcome.js';
import type { BackgroundLoads } from '../workers/registrations.js';
import { REGISTRATION_EXCHANGE } from './register.js';

/** How long a client should wait before asking again. */
const RETRY_AFTER_SECONDS = 2;

export function asyncStatus(registrations: BackgroundLoads) {
  return async (req: Request, res: Response): Promise<void> => {
    describeExchange(res, { subtype: 'async-status', action: 'R', ...REGISTRATION_EXCHANGE });
    const id = String(req.params.id);
    const status = await registrations.status(id, authContext(res).agency);
    if (!status) throw notFound(`No background registration ${id} of yours`);
    if (status.state === 'failed') throw status.error;
    if (status.state === 'complete') {
      res.set('X-Progress', 'complete');
      await respond(req, res, 200, status.result.bundle);
      return;
    }
    const { done, total } = status.progress;
    res.set({ 'X-Progress': `${done} of ${total} records registered`, 'Retry-After': String(RETRY_AFTER_SECONDS) });
    await respond(req, res, 202, informational(`Registering in the background: ${done} of ${total} records so far`));
  };
}

export function cancelAsync(registrations: BackgroundLoads) {
  return async (req: Request, res: Response): Promise<void> => {
    describeExchange(res, { subtype: 'async-cancel', action: 'D', ...REGISTRATION_EXCHANGE });
    const id = String(req.params.id);
    const result = await registrations.cancel(id, authContext(res).agency);
    if (!result) throw notFound(`No background registration ${id} of yours`);
    if (result === 'running') throw conflict(`Background registration ${id} is registering now and cannot be stopped part-way; its result will be at this URL`);
    const text = result === 'cancelled' ? `Background registration ${id} cancelled before it started: nothing was registered` : `The result of background registration ${id} is forgotten`;
    await respond(req, res, 202, informational(text));
  };
}
