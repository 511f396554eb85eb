// owner: delivery
/**
 * An agency acknowledging a message it pulled from its inbox: a response
 * message (MessageHeader.response.identifier = the delivered message's
 * MessageHeader.id, i.e. the hub's message id) posted to `$process-message`.
 *
 * MINIMAL SEAM written by the intake engineer so `$process-message` can hand
 * response messages over; the delivery engineer replaces this file (response
 * message parsing from shared/messaging, transient/fatal codes, audit criteria,
 * the change record). Keep the export `acknowledge(ctx)`: process-message.ts calls it.
 */
import type { Request, Response } from 'express';
import type { Bundle, MessageHeader } from 'fhir/r4.js';
import { authContext } from '../../../shared/auth/middleware.js';
import { describeExchange } from '../../../shared/fhir/exchange-context.js';
import { respond } from '../../../shared/fhir/express.js';
import { informational, notFound, unprocessable } from '../../../shared/fhir/outcome.js';
import type { AlertsContext } from '../context.js';

export function acknowledge(ctx: AlertsContext) {
  return async (req: Request, res: Response): Promise<void> => {
    describeExchange(res, { subtype: '$process-message (acknowledgement)', action: 'U', dataCategory: 'alert' });
    const header = (req.body as Bundle).entry?.[0]?.resource as MessageHeader;
    const messageId = header.response?.identifier;
    if (!messageId) throw unprocessable('MessageHeader.response.identifier must name the message acknowledged', 'Bundle.entry[0].resource.response.identifier');
    const agency = authContext(res).agency;
    const delivery = await ctx.store.delivery(messageId, agency);
    // Another agency's message is, to the caller, unknown.
    if (!delivery) throw notFound(`No message ${messageId} was delivered to ${agency}`);
    if (header.response?.code === 'ok' && delivery.state !== 'acknowledged') await ctx.store.markAcknowledged(messageId, agency, new Date().toISOString());
    await respond(req, res, 200, informational(`Message ${messageId}: acknowledgement (${header.response?.code ?? 'no code'}) from ${agency} recorded`), {
      criteria: header.response?.code === 'ok' ? ['MA-L3'] : [],
    });
  };
}
