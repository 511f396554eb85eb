/**
 * Dead letters, for the agency that sent the messages:
 *
 *   GET  /fhir/$dead-letters?_count=&_offset=     the sender's own deliveries that will not be retried
 *                                                 (the agency refused them, or the retry window ran out),
 *                                                 newest first, each with its reason and how to re-drive it
 *   POST /fhir/$redrive/<messageId>?agency=<id>   puts one back to pending with a new job and a new retry
 *                                                 window (e.g. once the agency fixed its endpoint)
 *
 * A dead letter is also on the message's status URL (`$delivery-status`, state
 * `dead-letter` and the reason), in the audit trail (the attempt that ended
 * it, and its change record), and pushed to the sender as a report message
 * (dead-letter-reports.ts) with the same parts as its entry here. Another agency's messages are not the caller's
 * to see or re-drive: to re-drive one is answered as for an unknown message (404).
 */
import type { Request, Response } from 'express';
import type { Parameters, ParametersParameter } from 'fhir/r4.js';
import { authContext } from '../../../shared/auth/middleware.js';
import { describeExchange } from '../../../shared/fhir/exchange-context.js';
import { respond } from '../../../shared/fhir/express.js';
import { badRequest, notFound } from '../../../shared/fhir/outcome.js';
import type { AlertsContext } from '../context.js';
import { deadLetterParts } from '../domain/dead-letter-report.js';
import { knownMessage } from './known-message.js';
import { peerHubOfRecipient, redriveAtPeer } from './peer-redrive.js';
import { wholeNumberParam } from '../../../shared/http/query-rules.js';
import { onlyParameters } from './query.js';
import { redriveDeadLetter } from './redrive-dead-letter.js';

const DEFAULT_COUNT = 50;
const MAX_COUNT = 200;

export function deadLetters(ctx: AlertsContext) {
  return async (req: Request, res: Response): Promise<void> => {
    describeExchange(res, { subtype: '$dead-letters', action: 'R', dataCategory: 'alert' });
    const { agency } = authContext(res);
    onlyParameters(req.query, '$dead-letters', ['_count', '_offset'], 'an agency reads the dead letters of the messages it sent, its access token says which agency it is');
    const count = wholeNumberParam(req.query._count, '_count', DEFAULT_COUNT, 1, MAX_COUNT);
    const offset = wholeNumberParam(req.query._offset, '_offset', 0, 0, 1_000_000);
    const { total, letters } = await ctx.store.deadLettersOf(agency, offset, count);
    const deliveries = await Promise.all(letters.map((l) => ctx.store.delivery(l.messageId, l.agencyId)));
    const parameter: ParametersParameter[] = [{ name: 'total', valueInteger: total }];
    letters.forEach((letter, i) => {
      const delivery = deliveries[i];
      const facts = { ...letter, ...(delivery ? { attempts: delivery.attempts, seq: delivery.seq } : {}), ...(delivery?.lastError ? { reason: delivery.lastError } : {}) };
      parameter.push({ name: 'deadLetter', part: deadLetterParts(facts, ctx.baseUrl) });
    });
    const body: Parameters = { resourceType: 'Parameters', parameter };
    await respond(req, res, 200, body);
  };
}

export function redrive(ctx: AlertsContext) {
  return async (req: Request, res: Response): Promise<void> => {
    describeExchange(res, { subtype: '$redrive', action: 'U', dataCategory: 'alert' });
    const { agency: caller } = authContext(res);
    const messageId = String(req.params.messageId);
    // Whose message it is before what the request lacks: to anyone but its sender the message is unknown (404),
    // however the request is written.
    const message = await knownMessage(ctx, res, messageId, { agency: caller, as: 'sender' });
    onlyParameters(req.query, '$redrive', ['agency'], 'it re-drives the delivery of one message to one recipient');
    const agencyId = req.query.agency;
    if (typeof agencyId !== 'string' || agencyId.length === 0) throw badRequest('Name the recipient to re-drive: ?agency=<agency id>', 'agency');
    describeExchange(res, { recipientAgency: agencyId });
    const delivery = await ctx.store.delivery(messageId, agencyId);
    if (!delivery) throw notFound(`Message ${messageId} has no delivery to ${agencyId}`);
    // Forwarded to a peer hub, which accepted it (acknowledged here): a dead letter there is re-driven there.
    if (delivery.state === 'acknowledged') {
      const peer = await peerHubOfRecipient(ctx, agencyId);
      if (peer) return redriveAtPeer(ctx, req, res, message, agencyId, peer);
    }
    await redriveDeadLetter(ctx, req, res, { message, agencyId, state: delivery.state, by: caller });
  };
}
