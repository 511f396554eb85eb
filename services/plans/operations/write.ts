/**
 * Creating and updating plans, assessments, requests for assistance and notable events:
 *
 *   POST /fhir/<Type>        create   system/<Type>.write   201, Location …/_history/1
 *   PUT  /fhir/<Type>/:id    update   system/<Type>.write   If-Match REQUIRED: 428 without, 412 when stale
 *
 * The body is validated (R4 structure definitions, 422 listing every problem;
 * over the body limit 413), its subject resolved to the index Person through the
 * MPI's view (422 when the person is unknown), the author set from the token.
 * An update is an access-checked `write` (domain/access.ts) and never moves a
 * record to another person. What the request alone decides (If-Match 428, scope
 * 403, the body 400/413/422) is checked before the record is read, so it answers
 * the same for every id; only then the record (404 for unknown and unseen alike).
 * A request for assistance moves only as its lifecycle allows
 * (domain/service-request.ts); a notable event must say when it happened. Every version is written in one Lua script with
 * its audit change record (shared/store).
 */
import type { Request, Response } from 'express';
import type { Observation, ServiceRequest } from 'fhir/r4.js';
import { causeOf, describeExchange } from '../../../shared/fhir/exchange-context.js';
import { respond } from '../../../shared/fhir/express.js';
import { badRequest, forbidden, OperationOutcomeError, outcome, unprocessable } from '../../../shared/fhir/outcome.js';
import { validBody } from '../../../shared/fhir/request-body.js';
import type { PlansContext } from '../context.js';
import { CATEGORY_OF, type Caller, type PlansType } from '../domain/access.js';
import { asStored } from '../domain/authoring.js';
import { whenItHappened } from '../domain/chronology.js';
import { writeCriteria } from '../domain/criteria.js';
import { checkInitialStatus, checkTransition, performerAgencyOf, type TransitionCheck } from '../domain/service-request.js';
import { keyOfReference } from '../domain/subject.js';
import type { PlansResource } from '../store.js';
import { resolvePerson } from '../subjects.js';
import { aboutRecord, callerOf, entityOf, pathParam, permitted, requiredIfMatch } from './common.js';

function versionUrl(ctx: PlansContext, resource: PlansResource): string {
  return `${ctx.baseUrl}/${resource.resourceType}/${resource.id}/_history/${resource.meta?.versionId}`;
}

export function createResource(ctx: PlansContext, type: PlansType) {
  return async (req: Request, res: Response): Promise<void> => {
    describeExchange(res, { subtype: 'create', action: 'C' });
    const caller = await callerOf(res, ctx);
    const { id: _ignored, ...body } = await validBody<PlansResource>(req, type, ctx.validation);
    if (body.resourceType === 'Observation') checkNotableEvent(body);
    const personId = await resolvePerson(ctx.mpi, keyOfReference(body.subject), `${type}.subject`);
    if (body.resourceType === 'ServiceRequest') await checkNewRequest(ctx, body);
    const prepared: PlansResource = asStored(body, caller, { authorAgency: caller.agency, personId });
    const stored = await ctx.store.create(prepared, causeOf(req, res, `Person/${personId}`));
    describeExchange(res, {
      ...aboutRecord({ type, id: stored.id!, authorAgency: caller.agency, personId, category: CATEGORY_OF[type] }, caller),
      entities: [entityOf(type, stored.id!), { reference: `Person/${personId}`, role: 'subject' }],
    });
    await respond(req, res, 201, stored, {
      criteria: writeCriteria(type),
      location: versionUrl(ctx, stored),
      headers: { 'Content-Location': versionUrl(ctx, stored) },
    });
  };
}

export function updateResource(ctx: PlansContext, type: PlansType) {
  return async (req: Request, res: Response): Promise<void> => {
    const id = pathParam(req, 'id');
    describeExchange(res, { subtype: 'update', action: 'U', entities: [entityOf(type, id)] });
    const ifMatch = requiredIfMatch(req, `a shared ${type}`);
    const caller = await callerOf(res, ctx);
    const body = await validBody<PlansResource>(req, type, ctx.validation);
    if (body.id === undefined) throw badRequest(`The ${type} must carry its id (${id})`, `${type}.id`);
    if (body.id !== id) throw badRequest(`The ${type} id ${body.id} does not match the URL id ${id}`, `${type}.id`);
    if (body.resourceType === 'Observation') checkNotableEvent(body);
    const { value: current, record } = permitted(res, caller, await ctx.store.read(caller, type, id, 'write'));
    const personId = await resolvePerson(ctx.mpi, keyOfReference(body.subject), `${type}.subject`);
    if (personId !== record.personId) {
      throw unprocessable(`${type}/${id} is about another person: a record never moves between people (create a new one)`, `${type}.subject`);
    }
    if (current.resourceType === 'ServiceRequest') await checkRequestUpdate(ctx, caller, record.authorAgency, current, body as ServiceRequest);
    const prepared: PlansResource = asStored(body, caller, record, current);
    const stored = await ctx.store.update(prepared, ifMatch, causeOf(req, res, `Person/${personId}`));
    await respond(req, res, 200, stored, {
      criteria: writeCriteria(type),
      location: versionUrl(ctx, stored),
      headers: { 'Content-Location': versionUrl(ctx, stored) },
    });
  };
}

/** A notable event goes on the person's timeline by when it happened: it must say so. */
function checkNotableEvent(event: Observation): void {
  if (!whenItHappened(event)) throw unprocessable('A notable event says when it happened: effectiveDateTime (or effectivePeriod.start)', 'Observation.effective');
}

/** A new request for assistance: assigned to one known agency, starting as draft or active. */
async function checkNewRequest(ctx: PlansContext, request: ServiceRequest): Promise<void> {
  await checkPerformer(ctx, request);
  refuse(checkInitialStatus(request.status), 'ServiceRequest.status');
}

async function checkPerformer(ctx: PlansContext, request: ServiceRequest): Promise<string> {
  const performer = performerAgencyOf(request);
  if (!performer) throw unprocessable('Assign the request to one agency: performer must be exactly one Organization/<agency id>', 'ServiceRequest.performer');
  if (!(await ctx.isp.agency(performer))) throw unprocessable(`Organization/${performer} is not an agency of the partnership`, 'ServiceRequest.performer');
  return performer;
}

/** The requester drafts, sends, edits and revokes; the assigned agency completes; nothing moves after completed or revoked. */
async function checkRequestUpdate(ctx: PlansContext, caller: Caller, requesterAgency: string, current: ServiceRequest, next: ServiceRequest): Promise<void> {
  const requester = caller.agency === requesterAgency;
  const performerNow = performerAgencyOf(current);
  const role = requester ? 'requester' : caller.agency === performerNow ? 'performer' : undefined;
  if (!role) throw forbidden(`Only the requesting agency or the assigned agency (${performerNow ?? 'none'}) changes a request for assistance`);
  refuse(checkTransition(current.status, next.status, role), 'ServiceRequest.status');
  const performerNext = await checkPerformer(ctx, next);
  if (performerNext !== performerNow && !(role === 'requester' && current.status === 'draft')) {
    throw unprocessable(`The request is assigned to ${performerNow ?? 'no one'}: only the requester reassigns it, and only while it is a draft`, 'ServiceRequest.performer');
  }
}

function refuse(check: TransitionCheck, expression: string): void {
  if (check.ok) return;
  const code = check.status === 403 ? 'forbidden' : check.status === 409 ? 'conflict' : 'business-rule';
  throw new OperationOutcomeError(outcome(code, check.reason, { expression: [expression] }), check.status);
}
