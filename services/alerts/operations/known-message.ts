/**
 * The message an operation is about (acknowledgement, re-drive, delivery status), read once and named in
 * the exchange's audit record — only for an agency party to it in the role the operation needs. To any
 * other agency the message does not exist: the same 404 as an id never used (README "Security model":
 * a denied read or action never reveals that what it named exists), audited as the denial it is.
 */
import type { Response } from 'express';
import { describeExchange } from '../../../shared/fhir/exchange-context.js';
import { notFound, type OperationOutcomeError } from '../../../shared/fhir/outcome.js';
import { deniedAsUnknown } from '../../../shared/fhir/rest/access.js';
import type { AlertsContext } from '../context.js';
import type { StoredMessage } from '../store.js';

/** Who may act on a message: its sender, or one of its recipients. */
export interface MessageParty {
  readonly agency: string;
  readonly as: 'sender' | 'recipient';
}

/**
 * The stored message `party` is party to, or 404 — worded the same whether the message is unknown or
 * another agency's; the exchange is described as about its subject, Flag and message either way.
 */
export async function knownMessage(ctx: AlertsContext, res: Response, messageId: string, party: MessageParty): Promise<StoredMessage> {
  const message = await ctx.store.message(messageId);
  if (!message) throw unknownMessage(messageId, party);
  describeExchange(res, {
    subject: `Person/${message.personId}`,
    purpose: message.purpose,
    entities: [
      { reference: `MessageHeader/${messageId}`, role: 'data' },
      { reference: `Flag/${message.flagId}`, role: 'data' },
    ],
  });
  const isParty = party.as === 'sender' ? message.sender === party.agency : message.recipients.includes(party.agency);
  if (!isParty) {
    deniedAsUnknown(res, `${party.agency} is not the ${party.as} of message ${messageId}`);
    throw unknownMessage(messageId, party);
  }
  return message;
}

/** The 404 of a message `party` is not party to, in the same words whether it exists or not. */
export function unknownMessage(messageId: string, party: MessageParty): OperationOutcomeError {
  return notFound(`No message ${messageId} ${party.as === 'sender' ? 'sent by' : 'sent to'} ${party.agency}`);
}
