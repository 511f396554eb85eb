/**
 * The agency simulator's HTTP surface, as a table of contents. The delivery
 * endpoint is what the hub calls (authenticated by the hub's delivery token);
 * the rest is a control surface for tests and demos, with no token: run the
 * simulator where only the hub and its testers reach it (it listens on
 * 127.0.0.1 by default).
 */
import type { Router } from 'express';
import { takesQuery } from '../../shared/http/query-rules.js';
import { serviceRouter } from '../../shared/http/router.js';
import { handler } from '../../shared/fhir/express.js';
import type { AgencySimContext } from './context.js';
import { readBehaviour, setBehaviour } from './operations/behaviour.js';
import { processMessage, processMessageBatch } from './operations/process-message.js';
import { pullInbox } from './operations/pull.js';
import { receivedMessages } from './operations/received.js';
import { resetAgency, resetAll } from './operations/reset.js';

/** The paths whose exact body bytes are kept (a message, a batch of messages): the delivery token's digest is over them. */
export const DELIVERY_PATH = /^\/agencies\/[^/]+\/fhir(\/\$process-message)?$/;

export function agencySimRoutes(ctx: AgencySimContext): Router {
  const router = serviceRouter();
  router.post('/agencies/:agency/fhir/$process-message', handler(processMessage(ctx)));
  // Batched delivery: a batch Bundle of messages POSTed to the agency's FHIR base.
  router.post('/agencies/:agency/fhir', handler(processMessageBatch(ctx)));
  // The control surface refuses a query parameter it does not take (it ignored `after` and `_count`: a tester's misreading, answered as if understood).
  router.get('/agencies/:agency/received', takesQuery('offset', 'count', 'summary'), handler(receivedMessages(ctx)));
  router.get('/agencies/:agency/behaviour', takesQuery(), handler(readBehaviour(ctx)));
  router.put('/agencies/:agency/behaviour', takesQuery(), handler(setBehaviour(ctx)));
  router.post('/agencies/:agency/pull', takesQuery(), handler(pullInbox(ctx)));
  router.post('/agencies/reset', takesQuery(), handler(resetAll(ctx)));
  router.post('/agencies/:agency/reset', takesQuery(), handler(resetAgency(ctx)));
  return router;
}
