/**
 * An agency acknowledges a message it received — pulled from its inbox, or
 * pushed to its endpoint — by POSTing a FHIR response message to the hub's
 * `POST /fhir/$process-message` (the intake operation recognises a response by
 * `MessageHeader.response` and hands it here) with its access token:
 *
 *   response.identifier = the delivered message's MessageHeader.id, response.code ok | transient-error | fatal-error
 *
 * - `ok` → the delivery is acknowledged (MA-L3): it is not delivered again,
 *   and a dead letter of it is no longer one.
 * - `fatal-error` → a dead letter, reported to the sender; `transient-error` →
 *   noted; the delivery stays as it is (pushed again if it has an endpoint).
 *
 * Refused: a body that is not a response message (422), a response claiming
 * another agency as its source (403: the token decides), a message the hub does
 * not know or the caller's agency is not a recipient of (the same 404: whether
 * another agency's message exists is not revealed), one withdrawn before
 * it reached the agency (409: it never received it), and a response message id
 * that already acknowledged another delivery (409: a replay). Acknowledging
 * again is 200 and changes nothing.
 */
import type { Request, Response } from 'express';
import { changeRecord } from '../../../shared/audit/outbox.js';
import { authContext } from '../../../shared/auth/middleware.js';
import type { Logger } from '../../../shared/log.js';
import { causeOf, describeExchange } from '../../../shared/fhir/exchange-context.js';
import { respond } from '../../../shared/fhir/express.js';
import { conflict, forbidden, informational, invalidResource } from '../../../shared/fhir/outcome.js';
import { isResponseMessageProblem, parseResponseMessage } from '../../../shared/messaging/response-message.js';
import type { AlertsContext } from '../context.js';
import { ACKNOWLEDGEMENT_CRITERIA } from '../domain/delivery-criteria.js';
import { DELIVERY_STORE } from '../keys.js';
import type { DeliveryState } from '../store.js';
import { deadLetterReportOf } from '../dead-letter-reports.js';
import { knownMessage, unknownMessage } from './known-message.js';

/** States a delivery can be acknowledged from: anything the agency could have received. */
const ACKNOWLEDGEABLE: readonly DeliveryState[] = ['pending', 'awaiting-pull', 'dead-letter'];

/** `process-message.ts` hands a response message here (its body is `req.body`). */
export function acknowledge(ctx: AlertsContext, log: Logger) {
  return (req: Request, res: Response): Promise<void> => acknowledgeDelivery(ctx, log, req, res, req.body);
}

async function acknowledgeDelivery(ctx: AlertsContext, log: Logger, req: Request, res: Response, body: unknown): Promise<void> {
  describeExchange(res, { subtype: '$process-message (acknowledgement)', action: 'U', dataCategory: 'alert' });
  const { agency } = authContext(res);
  const response = parseResponseMessage(body);
  if (isResponseMessageProblem(response)) throw invalidResource(response.problem, response.expression);
  if (!response.headerId) {
    throw invalidResource('A response message needs its own MessageHeader.id: it is how a replayed acknowledgement is recognised', 'Bundle.entry[0].resource.id');
  }
  if (response.sourceAgency !== undefined && response.sourceAgency !== agency) {
    throw forbidden(`The response message says it comes from ${response.sourceAgency}, but the access token is ${agency}'s`);
  }
  const messageId = response.requestHeaderId;
  const party = { agency, as: 'recipient' } as const;
  const message = await knownMessage(ctx, res, messageId, party);
  const subject = `Person/${message.personId}`;
  const delivery = await ctx.store.delivery(messageId, agency);
  if (!delivery) throw unknownMessage(messageId, party);
  if (delivery.state === 'withdrawn') {
    throw conflict(`Message ${messageId} was never delivered to ${agency}: it was withdrawn (${delivery.lastError ?? 'the ISP no longer allows the flow'})`);
  }

  const cause = causeOf(req, res, subject);
  const what = (text: string) =>
    changeRecord({ ...cause, service: 'alerts' }, { subtype: '$process-message', action: 'U', subject, outcomeDescription: text, entities: [{ reference: `MessageHeader/${messageId}`, role: 'data' }] }, DELIVERY_STORE);
  const at = new Date();
  const common = { sender: message.sender, at, responseId: response.headerId };
  if (response.code === 'transient-error') {
    const text = `${agency} could not take message ${messageId} for now (transient-error); it stays ${delivery.state}`;
    await respond(req, res, 200, informational(text));
    return;
  }
  // A refusal makes a dead letter, reported to the sender with it (dead-letter-reports.ts).
  const refusal = `${agency} refused the message (fatal-error)`;
  const reported =
    response.code === 'fatal-error' ? deadLetterReportOf({ message, delivery, countedAttempt: false, reason: refusal, at, baseUrl: ctx.baseUrl, cause }) : undefined;
  const step =
    response.code === 'ok'
      ? await ctx.store.stepDelivery(messageId, agency, { ...common, from: ACKNOWLEDGEABLE, to: 'acknowledged', record: what(`${agency} acknowledged message ${messageId}`) })
      : await ctx.store.stepDelivery(messageId, agency, {
          ...common,
          from: ['pending', 'awaiting-pull'],
          to: 'dead-letter',
          lastError: refusal,
          ...(reported ? { report: reported.report, withRecords: [reported.record] } : {}),
          record: what(`${agency} refused message ${messageId} (fatal-error): a dead letter`),
        });
  if (step.kind === 'applied') await ctx.relay.flushQuietly(cause.requestId);
  if (step.kind === 'applied' && reported) {
    // The report is in `unqueued` with the dead letter: the sweeper queues it if this add fails. Said, not swallowed.
    const job = reported.job;
    await ctx.deliveries.addDeliveries([job]).catch((err: unknown) => log.warn({ err, ...job }, 'could not queue a dead-letter report now; the sweeper will'));
  }
  switch (step.kind) {
    case 'missing':
      throw unknownMessage(messageId, party);
    case 'replayed':
      throw conflict(`Response message ${response.headerId} already answered another delivery (${step.delivery}): a response message is sent once`);
    case 'lease-lost':
      // Only a delivery attempt's step names a claim; an acknowledgement never does.
      throw new Error(`The acknowledgement of ${messageId} by ${agency} was refused for a delivery claim it never made`);
    case 'moved':
      if (step.state === 'withdrawn') throw conflict(`Message ${messageId} was never delivered to ${agency}: it was withdrawn`);
      await respond(req, res, 200, informational(`Message ${messageId} was already ${step.state} for ${agency}; nothing changed`));
      return;
    case 'applied':
      if (response.code === 'ok') {
        describeExchange(res, { criteria: [...ACKNOWLEDGEMENT_CRITERIA] });
        await respond(req, res, 200, informational(`Message ${messageId} acknowledged by ${agency}`));
      } else {
        await respond(req, res, 200, informational(`Message ${messageId} refused by ${agency}: a dead letter, reported to its sender`));
      }
  }
}
