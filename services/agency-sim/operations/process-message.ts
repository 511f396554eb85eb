/**
 * An agency system receiving messages from the hub:
 * `POST /agencies/<agency>/fhir/$process-message` (one message) and
 * `POST /agencies/<agency>/fhir` with a `batch` Bundle of messages (batched
 * delivery, for an Endpoint that opts in: shared/messaging/message-batch.ts).
 * In order:
 *
 * 1. behaviour `down` — drop the connection (or answer 503) before anything;
 * 2. the delivery token (`Authorization: Bearer`): signed by the hub's key, ES256,
 *    issuer, addressed to this agency, unexpired, over these exact body bytes —
 *    else 401; a token id seen before — 401 (replay);
 * 3. the body must be a message Bundle whose MessageHeader id is the token's `message_id`
 *    — or a batch whose entries' MessageHeader ids are the token's `message_ids`, in order;
 * 4. behaviour `slow` waits (once per request), `transient` / `fatal` answer that response
 *    code for the messages it applies to and keep nothing of them;
 * 5. each message stored once per message id (a repeat is counted, answered `ok` again, not
 *    stored twice), answered with a response message `ok` — a batch with a `batch-response`
 *    holding each message's own answer, in order (an entry that is not a message: 400 for it alone).
 */
import type { Request, Response } from 'express';
import type { Bundle } from 'fhir/r4.js';
import { setTimeout as sleep } from 'node:timers/promises';
import { bearerToken } from '../../../shared/auth/middleware.js';
import { describeExchange } from '../../../shared/fhir/exchange-context.js';
import { rawBodyOf, respond } from '../../../shared/fhir/express.js';
import { badRequest, unavailable, type OperationOutcomeError } from '../../../shared/fhir/outcome.js';
import { deliveryTokenMemory, deliveryTokenRefusal, rememberDeliveryToken, verifyDeliveryToken, type DeliveryTokenClaims } from '../../../shared/messaging/delivery-token.js';
import { batchResponse, isMessageBatchProblem, readMessageBatch, type BatchEntryAnswer } from '../../../shared/messaging/message-batch.js';
import { buildResponseMessage, type ResponseCode } from '../../../shared/messaging/response-message.js';
import { simulatedAgencyWith } from '../agency.js';
import type { AgencySimContext } from '../context.js';
import { behaviourAt, behaviourFor, type Behaviour } from '../domain/behaviour.js';
import { batchMessageTexts } from '../domain/batch-message-texts.js';
import { isMessageSummary, messageSummaryOf, type MessageSummary } from '../domain/received-message.js';
import type { DeliveryRequestWrites, MessageToKeep } from '../store.js';

export function processMessage(ctx: AgencySimContext) {
  return async (req: Request, res: Response): Promise<void> => {
    describeExchange(res, { subtype: '$process-message', action: 'C' });
    const checked = await checkedDelivery(ctx, req);
    if (!checked) return;
    const { agency, behaviour, claims, body } = checked;

    const summary = messageSummaryOf(req.body);
    if (!isMessageSummary(summary)) return refusedBody(ctx, agency, claims, badRequest(summary.problem, summary.expression));
    if (summary.messageId !== claims.message_id || claims.message_ids !== undefined) {
      return refusedBody(ctx, agency, claims, badRequest('The MessageHeader id is not the message the delivery token names', 'Bundle.entry[0].resource.id'));
    }
    describeExchange(res, { entities: [{ reference: `MessageHeader/${summary.messageId}`, role: 'data', description: summary.event?.code }] });

    if (behaviour.mode === 'slow') await sleep(behaviour.delayMs ?? 0);
    const refused = refusedAsTold(agency, behaviour, summary);
    // The body is this one message: its bytes are kept as they came.
    const kept = refused ? [] : [{ summary, message: req.body as unknown, ...messageText(body.toString('utf8')) }];
    const counts = await take(ctx, agency, claims, kept, { batchSize: 0, refused: refusedCounts(refused ? [refused] : []) });
    const answer = refused ?? received(ctx, agency, summary, counts[0]!);
    await respond(req, res, 200, answer.resource);
  };
}

export function processMessageBatch(ctx: AgencySimContext) {
  return async (req: Request, res: Response): Promise<void> => {
    describeExchange(res, { subtype: 'batch', action: 'C' });
    const checked = await checkedDelivery(ctx, req);
    if (!checked) return;
    const { agency, behaviour, claims, body } = checked;

    const batch = readMessageBatch(req.body);
    if (isMessageBatchProblem(batch)) return refusedBody(ctx, agency, claims, badRequest(batch.problem, batch.expression));
    const summaries = batch.messages.map((m) => messageSummaryOf(m));
    const ids = summaries.map((s) => (isMessageSummary(s) ? s.messageId : undefined));
    // The token names the batch and every message in it, in order: nothing added, dropped or reordered.
    if (claims.message_id !== batch.id || !sameIds(claims.message_ids, ids)) {
      return refusedBody(ctx, agency, claims, badRequest("The batch's messages are not the ones the delivery token names", 'Bundle.entry'));
    }
    describeExchange(res, { entities: ids.flatMap((id) => (id ? [{ reference: `MessageHeader/${id}`, role: 'data' as const }] : [])) });

    if (behaviour.mode === 'slow') await sleep(behaviour.delayMs ?? 0);
    // Each message's own text in the body, where the body gives it exactly: kept as it came, not written out again.
    const texts = batchMessageTexts(body.toString('utf8'));
    // A scanned text that opens an object is that whole object (the scan ends it at its matching brace).
    const textOf = (i: number): { text?: string } => {
      const text = texts?.length === batch.messages.length ? texts[i] : undefined;
      return text?.startsWith('{') ? { text } : {};
    };
    const kept: (MessageToKeep & { readonly index: number })[] = [];
    const refusals: Refusal[] = [];
    const answers = summaries.map((summary, i): BatchEntryAnswer | undefined => {
      if (!isMessageSummary(summary)) return { status: 400, resource: badRequest(summary.problem, `Bundle.entry[${i}].resource.${summary.expression}`).outcome };
      const refused = refusedAsTold(agency, behaviour, summary);
      if (refused) refusals.push(refused);
      else kept.push({ index: i, summary, message: batch.messages[i], ...textOf(i) });
      return refused;
    });
    // The messages to keep are stored in one step (each once per message id, every arrival counted), with the token's
    // id, the request's count and what it refused as told.
    const counts = await take(ctx, agency, claims, kept, { batchSize: batch.messages.length, refused: refusedCounts(refusals) });
    kept.forEach(({ index, summary }, j) => (answers[index] = received(ctx, agency, summary, counts[j]!)));
    await respond(req, res, 200, batchResponse(batch.id, answers.map((a) => a!)));
  };
}

/**
 * Steps 1-2, for a message and a batch alike: the agency is down, or the token
 * is refused (thrown), or the request may go on with the token's claims and the
 * body's bytes. The token's id is remembered with what the request keeps (`take`),
 * or on its own when the body is refused (`refusedBody`). Undefined when the
 * connection was dropped (nothing to answer).
 */
async function checkedDelivery(ctx: AgencySimContext, req: Request): Promise<{ agency: string; behaviour: Behaviour; claims: DeliveryTokenClaims; body: Buffer } | undefined> {
  // Which agency, and how it behaves: read together.
  const [agency, stored] = await simulatedAgencyWith(ctx, req, (id) => ctx.store.behaviour(id));
  const behaviour = behaviourAt(stored, ctx.now());

  if (behaviour.mode === 'down') {
    await ctx.store.count(agency, 'down');
    if (behaviour.failure === '503') throw unavailable(`${agency} is down (simulated)`);
    ctx.log.info({ agency }, 'agency-sim: simulated down, dropping the connection');
    req.socket.destroy();
    return undefined;
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
  return { agency, behaviour, claims: verdict.claims, body };
}

/** Steps 4-5's one write: the token's id with the messages kept and the counts; a token seen before is refused (401). */
async function take(ctx: AgencySimContext, agency: string, claims: DeliveryTokenClaims, kept: readonly MessageToKeep[], writes: Omit<DeliveryRequestWrites, 'token'>): Promise<number[]> {
  const counts = await ctx.store.take(agency, kept, ctx.now(), { token: deliveryTokenMemory(claims), ...writes });
  if (counts === 'replayed') throw replayed(ctx, agency, claims);
  return counts;
}

/** A body refused after its token was checked: the token is used up all the same (a replay of it is refused as one). */
async function refusedBody(ctx: AgencySimContext, agency: string, claims: DeliveryTokenClaims, refusal: OperationOutcomeError): Promise<never> {
  if (!(await rememberDeliveryToken(ctx.store.deliveryJtis, claims))) {
    await ctx.store.count(agency, 'replays');
    throw replayed(ctx, agency, claims);
  }
  throw refusal;
}

function replayed(ctx: AgencySimContext, agency: string, claims: DeliveryTokenClaims): OperationOutcomeError {
  ctx.log.info({ agency, jti: claims.jti, messageId: claims.message_id }, 'agency-sim: replayed delivery token refused');
  return deliveryTokenRefusal('replayed');
}

/** A message's answer when its behaviour says to refuse it (transient or fatal), with which it was. */
interface Refusal {
  readonly status: number;
  readonly resource: Bundle;
  readonly code: ResponseCode;
}

/** Step 4 for one message: the transient or fatal answer its behaviour tells (counted by `take`), or undefined to keep it. */
function refusedAsTold(agency: string, requestBehaviour: Behaviour, summary: MessageSummary): Refusal | undefined {
  const behaviour = behaviourFor(requestBehaviour, summary.messageId);
  if (behaviour.mode !== 'transient' && behaviour.mode !== 'fatal') return undefined;
  const code: ResponseCode = behaviour.mode === 'transient' ? 'transient-error' : 'fatal-error';
  return { status: 200, resource: responseTo(agency, summary, code, `${agency} answered ${code} (simulated)`), code };
}

function refusedCounts(refusals: readonly Refusal[]): DeliveryRequestWrites['refused'] {
  const transient = refusals.filter((r) => r.code === 'transient-error').length;
  return { transient, fatal: refusals.length - transient };
}

/** A message's text as it came (what the token's digest covers), kept as the stored message when it is a JSON object as it stands. */
function messageText(text: string | undefined): { text?: string } {
  return text !== undefined && /^\s*\{[^]*\}\s*$/.test(text) ? { text } : {};
}

/** Step 5's answer for a message stored (or already stored: `receiveCount` > 1). */
function received(ctx: AgencySimContext, agency: string, summary: MessageSummary, receiveCount: number): { status: number; resource: Bundle } {
  const text =
    receiveCount === 1
      ? `Message ${summary.messageId} received by ${agency}`
      : `Message ${summary.messageId} already received by ${agency} (delivery ${receiveCount}); acknowledged again, not stored twice`;
  ctx.log.info({ agency, messageId: summary.messageId, seq: summary.seq, receiveCount }, 'agency-sim: message received');
  return { status: 200, resource: responseTo(agency, summary, 'ok', text) };
}

function responseTo(agency: string, summary: MessageSummary, code: ResponseCode, text: string) {
  return buildResponseMessage({
    requestHeaderId: summary.messageId,
    code,
    source: agency,
    details: text,
    // FHIR: a response carries the event of the message it answers.
    ...(summary.event ? { event: summary.event } : {}),
  });
}

function sameIds(named: readonly string[] | undefined, sent: readonly (string | undefined)[]): boolean {
  return named !== undefined && named.length === sent.length && named.every((id, i) => sent[i] === undefined || sent[i] === id);
}
