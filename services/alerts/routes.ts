/**
 * The alerts service's HTTP surface, as a table of contents: path, access
 * (token + scope), handler. Operations live one per file in `operations/`.
 */
import type { Router } from 'express';
import { serviceRouter } from '../../shared/http/router.js';
import { readScope, writeScope } from '../../shared/auth/scopes.js';
import { capabilityStatement } from '../../shared/fhir/capability.js';
import { handler } from '../../shared/fhir/express.js';
import { capabilitiesHandler } from '../../shared/fhir/rest/metadata.js';
import { requireAccess } from '../../shared/fhir/rest/access.js';
import type { Logger } from '../../shared/log.js';
import type { AlertsContext } from './context.js';
import { deadLetters, redrive } from './operations/dead-letters.js';
import { deliveryStatus } from './operations/delivery-status.js';
import { forwardedMessage } from './operations/forwarded-message.js';
import { fromPeerHub } from './operations/peer-exchange.js';
import { peerRedrive } from './operations/peer-redrive.js';
import { inbox } from './operations/inbox.js';
import { flagAccesses, readFlag, searchFlags } from './operations/flag-lookup.js';
import { processMessage } from './operations/process-message.js';

const OP = 'https://fhir.infoshare.scot/OperationDefinition';

export function alertsRoutes(ctx: AlertsContext, log: Logger): Router {
  const router = serviceRouter();
  const access = (...scopes: string[]) => requireAccess(ctx.authenticate, ...scopes);

  router.get('/fhir/metadata', handler(capabilitiesHandler(capability(ctx))));
  // A message another partnership's hub forwards carries that hub's signed delivery token, not an access token (MA-L5).
  router.post('/fhir/$process-message', fromPeerHub, handler(forwardedMessage(ctx, ctx.peers, log)));
  // Raising needs system/Flag.write, acknowledging a pulled message does not: checked per message kind.
  router.post('/fhir/$process-message', ...access(), handler(processMessage(ctx, log)));
  router.get('/fhir/$delivery-status/:messageId', ...access(readScope('Flag')), handler(deliveryStatus(ctx)));
  router.get('/fhir/$inbox', ...access(readScope('Flag')), handler(inbox(ctx)));
  router.get('/fhir/$dead-letters', ...access(readScope('Flag')), handler(deadLetters(ctx)));
  // A peer hub re-drives a delivery it forwarded here, for its sender (same token as a forwarded message).
  router.post('/fhir/$redrive/:messageId', fromPeerHub, handler(peerRedrive(ctx, ctx.peers, log)));
  router.post('/fhir/$redrive/:messageId', ...access(writeScope('Flag')), handler(redrive(ctx)));
  router.get('/fhir/Flag', ...access(readScope('Flag')), handler(searchFlags(ctx, log)));
  router.post('/fhir/Flag/_search', ...access(readScope('Flag')), handler(searchFlags(ctx, log)));
  router.get('/fhir/Flag/:id', ...access(readScope('Flag')), handler(readFlag(ctx, log)));
  router.get('/fhir/Flag/:id/$accesses', ...access(readScope('Flag')), handler(flagAccesses(ctx)));
  return router;
}

function capability(ctx: AlertsContext) {
  return capabilityStatement({
    service: 'alerts',
    title: 'infoshare alerts (structured alerts carrying Named Person / Lead Professional details, routed by the ISP)',
    baseUrl: ctx.baseUrl,
    resources: [
      {
        type: 'Flag',
        interactions: ['read', 'search-type'],
        versioned: false,
        searchParams: [
          { name: 'subject', type: 'reference' },
          { name: 'status', type: 'token' },
        ],
        operations: [{ name: 'accesses', definition: `${OP}/Flag-accesses` }],
      },
    ],
    systemOperations: [
      { name: 'process-message', definition: 'http://hl7.org/fhir/OperationDefinition/MessageHeader-process-message' },
      { name: 'delivery-status', definition: `${OP}/delivery-status` },
      { name: 'inbox', definition: `${OP}/inbox` },
      { name: 'dead-letters', definition: `${OP}/dead-letters` },
      { name: 'redrive', definition: `${OP}/redrive` },
    ],
  });
}
