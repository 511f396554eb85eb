/**
 * A dead letter put back to `pending` over HTTP: what the sender's `$redrive` does (dead-letters.ts), and what a
 * re-drive another partnership's hub asks for its sender does (peer-redrive.ts) — the move itself is redrive.ts's.
 */
import type { Request, Response } from 'express';
import { causeOf } from '../../../shared/fhir/exchange-context.js';
import { respond } from '../../../shared/fhir/express.js';
import { conflict, informational } from '../../../shared/fhir/outcome.js';
import type { AlertsContext } from '../context.js';
import { putDeadLetterBack } from '../redrive.js';
import type { DeliveryState, StoredMessage } from '../store.js';

/**
 * Puts one dead letter back to `pending` with a new job and a new retry window, audited (a change record with the
 * move), and answers 202 with its status URL; 409 if it is not a dead letter (or stops being one meanwhile). For
 * the sender's own re-drive, and for one another partnership's hub asks for its sender (peer-redrive.ts).
 */
export async function redriveDeadLetter(
  ctx: AlertsContext,
  req: Request,
  res: Response,
  { message, agencyId, state, by }: { readonly message: StoredMessage; readonly agencyId: string; readonly state: DeliveryState; readonly by: string },
): Promise<void> {
  const messageId = message.id;
  if (state !== 'dead-letter') throw conflict(`The delivery of ${messageId} to ${agencyId} is ${state}, not a dead letter: only dead letters are re-driven`);
  const cause = causeOf(req, res, `Person/${message.personId}`);
  if (!(await putDeadLetterBack(ctx, { message, agencyId, by, cause }))) {
    throw conflict(`The delivery of ${messageId} to ${agencyId} changed meanwhile; it is no longer a dead letter`);
  }
  await respond(req, res, 202, informational(`The delivery of ${messageId} to ${agencyId} is pending again, with a new retry window`), {
    headers: { 'Content-Location': `${ctx.baseUrl}/$delivery-status/${messageId}` },
  });
}
