/**
 * `GET /fhir/CarePlan/$peer-read?partnership=<id>&id=<plan id>` — an agency reads a plan
 * another partnership's hub holds, through its own hub (AP-L5; peer-plans.ts says how):
 * this hub asks the author's hub on the agency's behalf (audited as a `transmit`), the
 * author's hub decides under its ISP and the person's Consent, and this hub hands the
 * plan over only if ITS OWN copy of the ISP lets the author's agency share plans with
 * the caller for the purpose. Both must allow it.
 *
 * Refusals: a parameter missing or malformed, a partnership this hub does not read from,
 * break-glass (it is read at the hub that holds the record): 400. The author's hub
 * refusing (403: the hub token itself) or not handing the plan over (404: unknown, or
 * not for this caller): the same status and its reason. This hub's ISP refusing: the
 * same 404 as a plan the other hub does not hold (SI-L3, IM-L4; the real reason in the
 * audit). The peer hub not registered, unreachable or failing: 502 / 503. Every one audited.
 */
import type { Request, Response } from 'express';
import type { CarePlan } from 'fhir/r4.js';
import { auditedCall } from '../../../shared/audit/outbound.js';
import { causeOf, describeExchange, requestIdOf } from '../../../shared/fhir/exchange-context.js';
import { FHIR_JSON, respond } from '../../../shared/fhir/express.js';
import { badGateway, badRequest, forbidden, notFound, OperationOutcomeError, outcomeTextOf, unavailable } from '../../../shared/fhir/outcome.js';
import { BREAK_GLASS_REASON_HEADER, PURPOSE_HEADER } from '../consent-access.js';
import type { PlansContext } from '../context.js';
import { unknownResource } from '../../../shared/store/resource-store.js';
import { accessRecordOf } from '../domain/access.js';
import { callerOf } from './common.js';

const FHIR_ID = /^[A-Za-z0-9\-.]{1,64}$/;
const PEER_TIMEOUT_MS = 10_000;

export function peerRead(ctx: PlansContext) {
  return async (req: Request, res: Response): Promise<void> => {
    describeExchange(res, { subtype: '$peer-read', action: 'R', dataCategory: 'plan' });
    const partnership = singleParam(req, 'partnership');
    const id = singleParam(req, 'id');
    if (!FHIR_ID.test(partnership)) throw badRequest('partnership is the Organization id of another partnership', 'partnership');
    if (!FHIR_ID.test(id)) throw badRequest('id is the plan id at that partnership’s hub', 'id');
    if (req.headers[BREAK_GLASS_REASON_HEADER] !== undefined) {
      throw badRequest('Break-glass reads are made at the hub that holds the record', BREAK_GLASS_REASON_HEADER);
    }
    const caller = await callerOf(res, ctx);
    const peers = ctx.peers;
    if (!peers?.isPeer(partnership)) throw badRequest(`${partnership} is not a partnership this hub reads plans from (INFOSHARE_PEER_HUBS)`, 'partnership');
    const target = await peers.target(partnership);
    if (!('base' in target)) throw unavailable(`${partnership}'s hub cannot be reached for plans: ${target.problem}`);

    const url = `${target.base}/CarePlan/${id}`;
    const token = await peers.readToken(partnership, { agency: caller.agency, ...(caller.practitionerRole ? { practitionerRole: caller.practitionerRole } : {}) });
    const answered = await auditedCall(
      ctx.audit,
      {
        requestId: requestIdOf(res),
        service: 'plans',
        agent: causeOf(req, res).agent,
        subtype: 'read',
        action: 'R',
        method: 'GET',
        url,
        dataCategory: 'plan',
        purpose: caller.purpose,
        entities: [{ reference: target.endpoint, role: 'data', description: `${partnership}'s hub, asked for ${caller.agency}` }],
      },
      async () => {
        const response = await fetch(url, {
          headers: { accept: FHIR_JSON, authorization: `Bearer ${token}`, [PURPOSE_HEADER]: caller.purpose },
          signal: AbortSignal.timeout(PEER_TIMEOUT_MS),
        });
        const text = await response.text();
        return { status: response.status, value: text };
      },
    ).catch((err: unknown) => {
      if (err instanceof OperationOutcomeError) throw err;
      throw unavailable(`${partnership}'s hub did not answer: ${err instanceof Error ? err.message : String(err)}`);
    });

    /** How this hub answers a plan the other hub does not hold — and one the caller may not see (never telling that it exists). */
    const unknownThere = (reason = unknownResource('CarePlan', id).message) => notFound(`${partnership}'s hub: ${reason}`);
    if (answered.status === 404 || answered.status === 403) {
      const reason = outcomeTextOf(answered.value);
      throw answered.status === 404 ? unknownThere(reason) : forbidden(`${partnership}'s hub refused: ${reason ?? 'not permitted'}`);
    }
    if (answered.status !== 200) throw badGateway(`${partnership}'s hub answered ${answered.status}`);
    const plan = parsePlan(answered.value);
    const record = plan ? accessRecordOf(plan) : undefined;
    if (!plan || !record || record.id !== id) throw badGateway(`${partnership}'s hub answered with something other than CarePlan/${id}`);
    describeExchange(res, {
      subject: `Person/${record.personId}`,
      entities: [{ reference: `${target.base}/CarePlan/${id}/_history/${plan.meta?.versionId ?? ''}`, role: 'domain-resource' }],
      recipientAgency: caller.agency,
    });

    // This hub's own copy of the ISP must let the author's agency share plans with the caller too.
    const flow = await ctx.isp.checkFlow({ senderAgencyId: record.authorAgency, receiverAgencyId: caller.agency, category: 'plan', purpose: caller.purpose });
    if (!flow.allowed) {
      describeExchange(res, {
        criteriaOnDenial: ['SI-L3', 'IM-L4'],
        outcomeDescription: `denied, answered as an unknown id: this partnership's ISP does not let ${record.authorAgency}'s plans reach ${caller.agency} for ${caller.purpose}: ${flow.detail}`,
      });
      throw unknownThere();
    }
    await respond(req, res, 200, plan, {
      // Shared across the partnership boundary, both partnerships' ISPs checked (AP-L5, IM-L5), as structured FHIR another agency downloads (AP-L3, AP-L4).
      criteria: ['AP-L3', 'AP-L4', 'AP-L5', 'IM-L4', ...(flow.crossesBoundary ? ['IM-L5'] : [])],
      headers: { 'Content-Location': `${target.base}/CarePlan/${id}/_history/${plan.meta?.versionId ?? ''}` },
    });
  };
}

function singleParam(req: Request, name: string): string {
  const value = req.query[name];
  if (value === undefined || value === '') throw badRequest(`${name} is required`, name);
  if (typeof value !== 'string') throw badRequest(`${name} is given once`, name);
  return value;
}

function parsePlan(text: string): CarePlan | undefined {
  try {
    const parsed = JSON.parse(text) as { resourceType?: unknown };
    return parsed.resourceType === 'CarePlan' ? (parsed as CarePlan) : undefined;
  } catch {
    return undefined;
  }
}
