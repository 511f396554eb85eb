/**
 * `POST /agencies/<agency>/fhir/$process-message`: an agency system receiving
 * a message from the hub. In order:
 *
 * 1. behaviour `down` — drop the connection (or answer 503) before anything;
 * 2. the delivery token (`Authorization: Bearer`): signed by the hub's key, ES256,
 *    issuer, addressed to this agency, unexpired, over these exact body bytes —
 *    else 401; a token id seen before — 401 (replay);
 * 3. the body must be a message Bundle whose MessageHeader id is the token's `message_id`;
 * 4. behaviour `slow` waits, `transient` / `fatal` answer that response code and keep nothing;
 * 5. stored once per message id (a repeat is counted, answered `ok` again, not stored twice),
 *    answered with a response message `ok`.
 */
import type { Request, Response } from 'express';
import { setTimeout as sleep } from 'node:timers/promises';
import { bearerToken } from '../../../shared/auth/middleware.js';
import { describeExchange } from '../../../shared/fhir/exchange-context.js';
import { rawBodyOf, respond } from '../../../shared/fhir/express.js';
import { badRequest, unavailable } from '../../../shared/fhir/outcome.js';
import { deliveryTokenRefusal, rememberDeliveryToken, verifyDeliveryToken } from '../../../shared/messaging/delivery-token.js';
import { buildResponseMessage, type ResponseCode } from '../../../shared/messaging/response-message.js';
import { simulatedAgency } from '../agency.js';
import type { AgencySimContext } from '../context.js';
import { behaviourAt } from '../domain/behaviour.js';
import { isMessageSummary, messageSummaryOf, type MessageSummary } from '../domain/received-message.js';

export function processMessage(ctx: AgencySimContext) {
  return async (req: Request, res: Response): Promise<void> => {
    describeExchange(res, { subtype: '$process-message', action: 'C' });
    const agency = await simulatedAgency(ctx, req);
    const behaviour = behaviourAt(await ctx.store.behaviour(agency), ctx.now());

    if (behaviour.mode === 'down') {
      await ctx.store.count(agency, 'down');
      if (behaviour.failure === '503') throw unavailable(`${agency} is down (simulated)`);
      ctx.log.info({ agency }, 'agency-sim: simulated down, dropping the connection');
      req.socket.destroy();
      return;
    }

    const body = rawBodyOf(req) ?? Buffer.alloc(0);
    let token: string | undefined;
    try {
      token = bearerToken(req.headers.authorization);
    } catch {
      await ctx.store.count(agency, 'refused');
      throw deliveryTokenRefusal('malformed');
    }
    const verdict = await verifyDeliveryToken(token, body, ctx.resolveKey, { issuer: ctx.issuer, recipient: agency, nowMs: ctx.now() });
    if (!verdict.ok) {
      await ctx.store.count(agency, 'refused');
      ctx.log.info({ agency, problem: verdict.problem }, 'agency-sim: delivery token refused');
      throw deliveryTokenRefusal(verdict.problem);
    }
    const { claims } = verdict;
    if (!(await rememberDeliveryToken(ctx.store.deliveryJtis, claims))) {
      await ctx.store.count(agency, 'replays');
      ctx.log.info({ agency, jti: claims.jti, messageId: claims.message_id }, 'agency-sim: replayed delivery token refused');
      throw deliveryTokenRefusal('replayed');
    }

    const summary = messageSummaryOf(req.body);
    if (!isMessageSummary(summary)) throw badRequest(summary.problem, summary.expression);
    if (summary.messageId !== claims.message_id) {
      throw badRequest('The MessageHeader id is not the message the delivery token names', 'Bundle.entry[0].resource.id');
    }
    describeExchange(res, { entities: [{ reference: `MessageHeader/${summary.messageId}`, role: 'data', description: summary.event?.code }] });

    if (behaviour.mode === 'slow') await sleep(behaviour.delayMs ?? 0);
    if (behaviour.mode === 'transient' || behaviour.mode === 'fatal') {
      await ctx.store.count(agency, behaviour.mode);
      const code: ResponseCode = behaviour.mode === 'transient' ? 'transient-error' : 'fatal-error';
      await answer(req, res, agency, summary, code, `${agency} answered ${code} (simulated)`);
      return;
    }
    const receiveCount = await ctx.store.receive(agency, summary, req.body, ctx.now());
    const text =
      receiveCount === 1
        ? `Message ${summary.messageId} received by ${agency}`
        : `Message ${summary.messageId} already received by ${agency} (delivery ${receiveCount}); acknowledged again, not stored twice`;
    ctx.log.info({ agency, messageId: summary.messageId, seq: summary.seq, receiveCount }, 'agency-sim: message received');
    await answer(req, res, agency, summary, 'ok', text);
  };
}

async function answer(req: Request, res: Response, agency: string, summary: MessageSummary, code: ResponseCode, text: string): Promise<void> {
  const response = buildResponseMessage({
    requestHeaderId: summary.messageId,
    code,
    source: agency,
    details: text,
    // FHIR: a response carries the event of the message it answers.
    ...(summary.event ? { event: summary.event } : {}),
  });
  await respond(req, res, 200, response);
}
