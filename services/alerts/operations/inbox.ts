/**
 * `GET /fhir/$inbox?after=<seq>&_count=<n>`: the caller's own agency's
 * messages after a sequence number, oldest first — for agencies without an
 * Endpoint (deliveries to them wait here, `awaiting-pull`), and for any agency
 * catching up after an outage.
 *
 * Every message an agency is sent gets the next number of that agency's own
 * sequence (1, 2, 3…), carried in the MessageHeader extension
 * `Extensions.deliverySequence`; an agency that keeps the highest number it has
 * seen asks for `after=<that>` and can tell a gap from a quiet day. Each message
 * is cut for the agency under the ISP as it stands now (as a push would be); a
 * message whose flow has been withdrawn — by the ISP, or by a Consent withholding the
 * person's alerts from the agency, asked at each pull as at each push — is not given, and the page says so in
 * an OperationOutcome entry (`search.mode = outcome`) naming its number, so
 * that gap is explained too. `next` continues after the last number on the page.
 *
 * The agency's own dead-letter reports (dead-letter-reports.ts) are in the same
 * sequence, given whole.
 *
 * Acknowledge what you pulled by POSTing a response message to
 * `POST /fhir/$process-message` (operations/acknowledge.ts).
 */
import type { Bundle, BundleEntry, OperationOutcome, OperationOutcomeIssue } from 'fhir/r4.js';
import type { Request, Response } from 'express';
import { authContext } from '../../../shared/auth/middleware.js';
import { describeExchange } from '../../../shared/fhir/exchange-context.js';
import { respond } from '../../../shared/fhir/express.js';
import type { DataCategory, Purpose } from '../../../shared/fhir/systems.js';
import { flowCriteria } from '../../../shared/isp/registry.js';
import type { AlertsContext } from '../context.js';
import { wholeNumberParam } from '../../../shared/http/query-rules.js';
import { onlyParameters } from './query.js';
import { deliveryCriteria } from '../domain/delivery-criteria.js';
import { addressedMessage, minimisedMessage } from '../domain/minimise.js';

const DEFAULT_COUNT = 50;
const MAX_COUNT = 200;
/** What `$inbox` takes; anything else is refused (`onlyParameters`). */
const PARAMETERS = ['after', '_count'];

export function inbox(ctx: AlertsContext) {
  return async (req: Request, res: Response): Promise<void> => {
    describeExchange(res, { subtype: '$inbox', action: 'R', dataCategory: 'alert' });
    const { agency } = authContext(res);
    onlyParameters(req.query, '$inbox', PARAMETERS, 'an agency reads its own inbox, the one its access token names');
    const after = wholeNumberParam(req.query.after, 'after', 0, 0, Number.MAX_SAFE_INTEGER);
    const count = wholeNumberParam(req.query._count, '_count', DEFAULT_COUNT, 1, MAX_COUNT);
    const rows = await ctx.store.inboxOf(agency, after, count);
    const recipient = await ctx.isp.agency(agency);
    const entries: BundleEntry[] = [];
    const withheld: OperationOutcomeIssue[] = [];
    const criteria = new Set<string>();
    const now = new Date();
    for (const { messageId, seq } of rows) {
      const [message, delivery] = await Promise.all([ctx.store.message(messageId), ctx.store.delivery(messageId, agency)]);
      if (!message || !delivery || !recipient) continue;
      // A dead-letter report is the agency's news of its own message: no ISP term or Consent withholds it, nothing is cut.
      if (message.kind === 'report') {
        entries.push({ fullUrl: `${ctx.baseUrl}/Bundle/${messageId}`, resource: addressedMessage(message.bundle as Bundle, { agencyId: agency, seq }), search: { mode: 'match' } });
        continue;
      }
      const decision = await ctx.isp.checkFlow(
        { senderAgencyId: message.sender, receiverAgencyId: agency, category: message.category as DataCategory, purpose: message.purpose as Purpose },
        now,
      );
      if (delivery.state === 'withdrawn' || !decision.allowed) {
        withheld.push({
          severity: 'information',
          code: 'suppressed',
          diagnostics: `Message ${seq} (${messageId}) is withheld: ${delivery.state === 'withdrawn' && delivery.lastError ? delivery.lastError : `the ISP no longer allows ${message.sender} to send it to ${agency}`}`,
        });
        continue;
      }
      // Consent as a push's attempt asks it (workers/deliveries.ts): a Consent written since the message was put in the
      // inbox, withholding the person's alerts from this agency, keeps it from being pulled.
      if (message.kind === 'alert') {
        const consent = await ctx.consent.alertDelivery({ personId: message.personId, senderAgency: message.sender, recipient: { id: agency, type: recipient.type }, purpose: message.purpose as Purpose, now });
        if (!consent.permit) {
          withheld.push({ severity: 'information', code: 'suppressed', diagnostics: `Message ${seq} (${messageId}) is withheld: consent withholds this person's alerts from ${agency} (${consent.detail})` });
          criteria.add('PD-L5');
          continue;
        }
      }
      const bundle = minimisedMessage(message.bundle as Bundle, { agencyId: agency, agencyType: recipient.type, categories: decision.term.categories, seq });
      entries.push({ fullUrl: `${ctx.baseUrl}/Bundle/${messageId}`, resource: bundle, search: { mode: 'match' } });
      for (const c of [...deliveryCriteria(recipient.type, decision.crossesBoundary), ...flowCriteria(decision)]) criteria.add(c);
    }
    if (withheld.length > 0) {
      const outcome: OperationOutcome = { resourceType: 'OperationOutcome', issue: withheld };
      entries.push({ resource: outcome, search: { mode: 'outcome' } });
    }
    const last = rows.at(-1)?.seq;
    const link = (a: number) => `${ctx.baseUrl}/$inbox?after=${a}&_count=${count}`;
    const page: Bundle = {
      resourceType: 'Bundle',
      type: 'searchset',
      link: [{ relation: 'self', url: link(after) }, ...(rows.length === count && last !== undefined ? [{ relation: 'next', url: link(last) }] : [])],
      ...(entries.length > 0 ? { entry: entries } : {}), // FHIR JSON has no empty arrays
    };
    describeExchange(res, { criteria: [...criteria].sort() });
    await respond(req, res, 200, page);
  };
}
