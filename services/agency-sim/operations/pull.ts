/**
 * `POST /agencies/<agency>/pull`: the simulated agency acts as a *pull* agency
 * (one without an Endpoint, or catching up): it signs in at the hub as that
 * agency (client credentials with its DEMO-ONLY key), reads its inbox with
 * fhir-kit-client (`GET /fhir/$inbox?after=<last seq pulled>`, page by page),
 * keeps each message once (by message id, as deliveries are), and acknowledges
 * each by posting a response message `ok` to the hub's `$process-message`.
 * Answers what it pulled and the last sequence number it has now seen.
 */
import type { Bundle, FhirResource } from 'fhir/r4.js';
import type { Request, Response } from 'express';
import type { Client } from 'fhir-kit-client';
import { demoAgencyKey } from '../../../shared/client/demo-keys.js';
import { fhirBase, fhirClient, fhirErrorResponse } from '../../../shared/client/fhir.js';
import { getAccessToken } from '../../../shared/client/token.js';
import { describeExchange } from '../../../shared/fhir/exchange-context.js';
import { respondJson } from '../../../shared/fhir/express.js';
import { unavailable } from '../../../shared/fhir/outcome.js';
import { buildResponseMessage } from '../../../shared/messaging/response-message.js';
import { simulatedAgency } from '../agency.js';
import type { AgencySimContext } from '../context.js';
import { isMessageSummary, messageSummaryOf } from '../domain/received-message.js';

/** Pages read per pull, so one call stays bounded; call again to continue. */
const MAX_PAGES = 10;
const PAGE_SIZE = 100;

export function pullInbox(ctx: AgencySimContext) {
  return async (req: Request, res: Response): Promise<void> => {
    describeExchange(res, { subtype: 'pull', action: 'E' });
    const agency = await simulatedAgency(ctx, req);
    const client = await hubClient(ctx, agency);
    let after = await ctx.store.pulledThrough(agency);
    let pulled = 0;
    let duplicates = 0;
    for (let page = 0; page < MAX_PAGES; page += 1) {
      const bundle = (await call(() => client.operation({ name: '$inbox', method: 'GET', input: { after, _count: PAGE_SIZE } }))) as unknown as Bundle<FhirResource>;
      const messages = (bundle.entry ?? []).flatMap((e) => (e.search?.mode === 'match' && e.resource?.resourceType === 'Bundle' ? [e.resource] : []));
      for (const message of messages) {
        const summary = messageSummaryOf(message);
        if (!isMessageSummary(summary)) continue;
        const receiveCount = await ctx.store.receive(agency, summary, message, ctx.now());
        if (receiveCount > 1) duplicates += 1;
        else pulled += 1;
        const ack = buildResponseMessage({ requestHeaderId: summary.messageId, code: 'ok', source: agency, ...(summary.event ? { event: summary.event } : {}) });
        await call(() => client.operation({ name: '$process-message', method: 'POST', input: { ...ack } }));
        if (summary.seq !== undefined && summary.seq > after) after = summary.seq;
        await ctx.store.setPulledThrough(agency, after);
      }
      if (!bundle.link?.some((l) => l.relation === 'next') || messages.length === 0) break;
    }
    ctx.log.info({ agency, pulled, duplicates, after }, 'agency-sim: pulled the inbox');
    await respondJson(req, res, 200, { agency, pulled, duplicates, lastSeq: after });
  };
}

async function hubClient(ctx: AgencySimContext, agency: string): Promise<Client> {
  try {
    const { access_token } = await getAccessToken({ agencyId: agency, tokenUrl: ctx.hub.tokenUrl, privateKeyPem: await demoAgencyKey(agency) });
    return fhirClient(fhirBase(ctx.hub.alertsUrl), access_token);
  } catch (err) {
    ctx.log.warn({ agency, err: err instanceof Error ? err.message : String(err) }, 'agency-sim: cannot sign in at the hub');
    throw unavailable(`Cannot sign in at the hub as ${agency}: ${err instanceof Error ? err.message : 'no answer'}`);
  }
}

/** A call to the hub; a refusal or no answer becomes a 503 saying what the hub said. */
async function call<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    const response = fhirErrorResponse(err);
    throw unavailable(response ? `The hub answered ${response.status}: ${JSON.stringify(response.data).slice(0, 300)}` : 'The hub did not answer');
  }
}
