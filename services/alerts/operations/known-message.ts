/** The message an operation is about (acknowledgement, re-drive), read once and named in the exchange's audit record. */
import type { Response } from 'express';
import { describeExchange } from '../../../shared/fhir/exchange-context.js';
import { notFound } from '../../../shared/fhir/outcome.js';
import type { AlertsContext } from '../context.js';
import type { StoredMessage } from '../store.js';

/** The stored message, or 404; the exchange is described as about its subject, Flag and message. */
export async function knownMessage(ctx: AlertsContext, res: Response, messageId: string): Promise<StoredMessage> {
  const message = await ctx.store.message(messageId);
  if (!message) throw notFound(`No message ${messageId} is known to the hub`);
  describeExchange(res, {
    subject: `Person/${message.personId}`,
    purpose: message.purpose,
    entities: [
      { reference: `MessageHeader/${messageId}`, role: 'data' },
      { reference: `Flag/${message.flagId}`, role: 'data' },
    ],
  });
  return message;
}
