/**
 * Re-driving a dead letter that another partnership's hub holds (issue 11 items 3 and 7). A message this hub
 * forwarded to a peer hub is acknowledged here once that hub accepted it; if it then died there (the agency
 * refused it, or the peer's retry window ran out) the dead letter is the peer's, reported back to the sender
 * through this hub (relayed-report.ts). The sender cannot sign in at the peer hub, so it re-drives as for any
 * dead letter — `POST /fhir/$redrive/<message id>?agency=<recipient>` here — and this hub asks the peer:
 *
 *   this hub:  POST <peer alerts base>/$redrive/<this hub's message id>, body Parameters { sender, agency },
 *              with a delivery token signed by this hub (peer-hubs.ts; `message_id` = the message, over the body),
 *              audited as a `transmit`; the peer's 202 → 202, its 404 / 409 passed on with its reason, anything
 *              else 502, no answer (or no usable hub Endpoint) 503;
 *   peer hub:  verifies the token as for a forwarded message (peer-exchange.ts: 401), checks that the sender is an
 *              agency of the asking hub's partnership (403), finds the message it accepted from that hub for that
 *              sender and recipient (404 otherwise, the same whether it exists) and re-drives it as the sender's
 *              own re-drive would (redrive-dead-letter.ts: 409 if it is not a dead letter), audited as done by that
 *              hub for the sender.
 * So a re-driven letter that dies again is reported again (a new report: its id counts the re-drives), and one that
 * is delivered is not — as for local ones.
 */
import type { Request, Response } from 'express';
import type { Parameters } from 'fhir/r4.js';
import { auditedCall } from '../../../shared/audit/outbound.js';
import { causeOf, describeExchange, requestIdOf } from '../../../shared/fhir/exchange-context.js';
import { FHIR_JSON, respond } from '../../../shared/fhir/express.js';
import { badGateway, badRequest, conflict, forbidden, informational, notFound, OperationOutcomeError, outcomeTextOf, unavailable } from '../../../shared/fhir/outcome.js';
import { refusedBySecurityModel } from '../../../shared/fhir/rest/access.js';
import { agencyIdOf } from '../../../shared/isp/contract.js';
import type { Logger } from '../../../shared/log.js';
import type { AlertsContext } from '../context.js';
import { forwardedMessageIdOf } from '../domain/peer-hubs.js';
import { PeerHubUnavailableError, type ForwardingTarget, type PeerHubs } from '../peer-hubs.js';
import type { StoredMessage } from '../store.js';
import { verifiedPeerRequest } from './peer-exchange.js';
import { redriveDeadLetter } from './redrive-dead-letter.js';

/** How long this hub waits for the peer hub's answer to a re-drive. */
const PEER_TIMEOUT_MS = 10_000;

/** The peer hub that serves `agencyId` (a delivery to it was forwarded there), or undefined when this hub serves it. */
export async function peerHubOfRecipient(ctx: AlertsContext, agencyId: string): Promise<ForwardingTarget | undefined> {
  try {
    return await ctx.peers.targetOf(agencyId);
  } catch (err) {
    if (err instanceof PeerHubUnavailableError) throw unavailable(err.message);
    throw err;
  }
}

/** What a re-drive asked of a peer hub names: the sender, and the recipient whose delivery died there. */
export function redriveRequest(sender: string, agencyId: string): Parameters {
  return {
    resourceType: 'Parameters',
    parameter: [
      { name: 'sender', valueReference: { reference: `Organization/${sender}` } },
      { name: 'agency', valueReference: { reference: `Organization/${agencyId}` } },
    ],
  };
}

/** The sender's re-drive of a delivery a peer hub holds: asked of that hub, its answer passed on. */
export async function redriveAtPeer(ctx: AlertsContext, req: Request, res: Response, message: StoredMessage, agencyId: string, peer: ForwardingTarget): Promise<void> {
  describeExchange(res, { entities: [{ reference: peer.endpoint, role: 'data', description: `the ${peer.partnership} hub, which holds the delivery, asked to re-drive it` }] });
  const url = `${peer.base}/$redrive/${message.id}`;
  const body = JSON.stringify(redriveRequest(message.sender, agencyId));
  const token = await peer.sign(message.id, body);
  const answered = await auditedCall(
    ctx.audit,
    {
      requestId: requestIdOf(res),
      service: 'alerts',
      agent: causeOf(req, res).agent,
      subtype: '$redrive',
      action: 'U',
      method: 'POST',
      url,
      recipientAgency: agencyId,
      subject: `Person/${message.personId}`,
      dataCategory: 'alert',
      purpose: message.purpose,
      entities: [{ reference: `MessageHeader/${message.id}`, role: 'data' }],
    },
    async () => {
      const response = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': FHIR_JSON, accept: FHIR_JSON, authorization: `Bearer ${token}` },
        body,
        signal: AbortSignal.timeout(PEER_TIMEOUT_MS),
      });
      return { status: response.status, value: await response.text() };
    },
  ).catch((err: unknown) => {
    if (err instanceof OperationOutcomeError) throw err;
    throw unavailable(`The ${peer.partnership} hub, which holds the delivery, did not answer: ${err instanceof Error ? err.message : String(err)}`);
  });
  const reason = outcomeTextOf(answered.value) ?? `HTTP ${answered.status}`;
  if (answered.status === 404) throw notFound(`The ${peer.partnership} hub: ${reason}`);
  if (answered.status === 409) throw conflict(`The ${peer.partnership} hub: ${reason}`);
  if (answered.status !== 202) throw badGateway(`The ${peer.partnership} hub answered the re-drive with ${reason}`);
  await respond(req, res, 202, informational(`The delivery of ${message.id} to ${agencyId} is pending again at the ${peer.partnership} hub, which holds it, with a new retry window there`));
}

/** `POST /fhir/$redrive/<origin message id>` from the peer hub that forwarded the message, for its sender. */
export function peerRedrive(ctx: AlertsContext, peers: PeerHubs, log: Logger) {
  return async (req: Request, res: Response): Promise<void> => {
    describeExchange(res, { subtype: '$redrive (asked by a peer hub)', action: 'U', dataCategory: 'alert' });
    const { hub, claims } = await verifiedPeerRequest(peers, log, req, res);
    const originMessage = String(req.params.messageId);
    if (claims.message_id !== originMessage) throw badRequest('The message to re-drive is not the message the token names', 'messageId');
    const parts = (req.body as Partial<Parameters> | undefined)?.parameter ?? [];
    const named = (name: string) => agencyIdOf(parts.find((p) => p.name === name)?.valueReference?.reference);
    const sender = named('sender');
    const agencyId = named('agency');
    if (!sender || !agencyId) throw badRequest('A re-drive asked by a peer hub names the sender and the recipient (Parameters sender, agency: Organization references)', 'Parameters.parameter');
    res.locals.auth = { sub: `hub:${hub.partnership}`, agency: sender, partnership: hub.partnership, scopes: [] };
    describeExchange(res, { recipientAgency: agencyId });
    if ((await ctx.isp.agency(sender))?.partnership !== hub.partnership) {
      refusedBySecurityModel(res);
      throw forbidden(`The ${hub.partnership} hub asks only for its own agencies; ${sender} is not an agency of ${hub.partnership} in this directory`);
    }
    const messageId = forwardedMessageIdOf(hub.partnership, sender, originMessage, [agencyId]);
    const message = await ctx.store.message(messageId);
    const delivery = message?.sender === sender ? await ctx.store.delivery(messageId, agencyId) : undefined;
    if (!message || !delivery) {
      refusedBySecurityModel(res);
      throw notFound(`This hub holds no message ${originMessage} forwarded by the ${hub.partnership} hub from ${sender} to ${agencyId}`);
    }
    describeExchange(res, { subject: `Person/${message.personId}`, purpose: message.purpose, entities: [{ reference: `MessageHeader/${messageId}`, role: 'data', description: `forwarded by the ${hub.partnership} hub as ${originMessage}` }] });
    await redriveDeadLetter(ctx, req, res, { message, agencyId, state: delivery.state, by: `the ${hub.partnership} hub for ${sender}` });
  };
}
