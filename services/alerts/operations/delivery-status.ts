/**
 * `GET /fhir/$delivery-status/<messageId>`: the sender's view of a message it
 * sent — each recipient's delivery state (pending, acknowledged, dead-letter,
 * withdrawn, awaiting-pull), attempts, sequence number and last error. Only the
 * sending agency may read it: to anyone else the message does not exist (404,
 * the same answer as for an id never used), so its existence is not revealed.
 */
import type { Request, Response } from 'express';
import { authContext } from '../../../shared/auth/middleware.js';
import { describeExchange } from '../../../shared/fhir/exchange-context.js';
import { respond } from '../../../shared/fhir/express.js';
import type { AlertsContext } from '../context.js';
import { deliveryStatusParameters } from '../domain/answers.js';
import { knownMessage } from './known-message.js';
import { onlyParameters } from './query.js';

export function deliveryStatus(ctx: AlertsContext) {
  return async (req: Request, res: Response): Promise<void> => {
    describeExchange(res, { subtype: '$delivery-status', action: 'R', dataCategory: 'alert' });
    const messageId = String(req.params.messageId);
    const message = await knownMessage(ctx, res, messageId, { agency: authContext(res).agency, as: 'sender' });
    // After whose message it is: to anyone but its sender the message is unknown (404), however the request is written.
    onlyParameters(req.query, '$delivery-status', [], 'the status of one message, to its sender');
    const deliveries = await ctx.store.deliveries(messageId, message.recipients);
    describeExchange(res, { subject: `Person/${message.personId}`, purpose: message.purpose, entities: [{ reference: `Flag/${message.flagId}`, role: 'domain-resource' }] });
    await respond(
      req,
      res,
      200,
      deliveryStatusParameters({
        messageId,
        event: message.event,
        flagId: message.flagId,
        acceptedAt: message.acceptedAt,
        recipients: deliveries.map((d) => ({ ...d })),
      }),
      // MA-L3 once every recipient has acknowledged: the sender can see the alert was shared and acknowledged.
      { criteria: deliveries.length > 0 && deliveries.every((d) => d.state === 'acknowledged') ? ['MA-L3'] : [] },
    );
  };
}
