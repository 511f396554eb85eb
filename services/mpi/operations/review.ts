/**
 * Manual matching (MI-L3): a reviewer resolves a grey-zone pair or a possible
 * duplicate (`POST /fhir/Task/{id}/$resolve`), or corrects the index
 * (`POST /fhir/Patient/{id}/$unlink`, `POST /fhir/Person/$merge`). Each
 * decision is remembered so the same pair is not asked again and automatic
 * re-matching never undoes it.
 */
import type { Request, Response } from 'express';
import { authContext } from '../../../shared/auth/middleware.js';
import { causeOf, describeExchange } from '../../../shared/fhir/exchange-context.js';
import { respond } from '../../../shared/fhir/express.js';
import type { OperationDeclaration } from '../../../shared/fhir/parameters.js';
import { operationArguments } from '../../../shared/fhir/request-body.js';
import { conflict, invalidResource, notFound } from '../../../shared/fhir/outcome.js';
import { MANUAL_MATCHING_CRITERIA } from '../domain/criteria.js';
import { duplicatePersons, MATCH_REVIEW_CODE, POSSIBLE_DUPLICATE, resolvedTask, reviewKind, reviewPair } from '../domain/review-task.js';
import { Persons } from '../persons.js';
import { actorOf, type MpiContext } from '../context.js';
import { REGISTRATION_EXCHANGE } from './register.js';

/** A reviewer's decision on a review Task, with an optional note kept on the Task and in the decision. */
const RESOLVE = {
  name: '$resolve',
  parameters: { decision: { kind: 'code', required: true, codes: ['link', 'not-link'] }, note: { kind: 'string' } },
} as const satisfies OperationDeclaration;

const UNLINK = { name: '$unlink', parameters: { note: { kind: 'string' } } } as const satisfies OperationDeclaration;

const MERGE = {
  name: '$merge',
  parameters: {
    'source-person': { kind: 'reference', required: true },
    'target-person': { kind: 'reference', required: true },
    note: { kind: 'string' },
  },
} as const satisfies OperationDeclaration;

/** The id of a `Person/<id>` reference; 422 for anything else. */
function personId(reference: string, expression: string): string {
  const id = reference.startsWith('Person/') ? reference.slice('Person/'.length) : undefined;
  if (!id || !/^[A-Za-z0-9\-.]{1,64}$/.test(id)) throw invalidResource('The parameter must reference a Person (Person/<id>)', expression);
  return id;
}

export function resolveReview(ctx: MpiContext) {
  const persons = new Persons(ctx.store);
  return async (req: Request, res: Response): Promise<void> => {
    const taskId = String(req.params.id);
    describeExchange(res, { subtype: '$resolve', action: 'U', ...REGISTRATION_EXCHANGE });
    const auth = authContext(res);
    const { decision, note } = await operationArguments(req, RESOLVE, ctx.validation);

    const task = await ctx.tasks.read('Task', taskId);
    if (!task.code?.coding?.some((c) => c.code === MATCH_REVIEW_CODE)) throw notFound(`Task/${taskId} is not a match review`);
    if (task.status !== 'requested') throw conflict(`Task/${taskId} was already resolved (status ${task.status})`);
    const pair = reviewPair(task);
    if (!pair) throw invalidResource(`Task/${taskId} does not name two records`, 'Task.input');

    const by = actorOf(auth);
    const at = new Date().toISOString();
    // Close the Task first, version-checked: of two reviewers deciding at once, one gets 412.
    const cause = causeOf(req, res, `Patient/${pair.recordId}`);
    const change = { cause, operation: '$resolve' };
    const { resource: resolved } = await ctx.tasks.update(resolvedTask(task, decision, by, at, note), { ifMatch: task.meta?.versionId, allowCreate: false, cause });

    const [candidateLink, recordLink] = await ctx.store.getLinks([pair.candidateId, pair.recordId]);
    const duplicate = reviewKind(task) === POSSIBLE_DUPLICATE;
    const stats: Record<string, number> = { [`decision-${decision}`]: 1, [`reviewer:${by}`]: 1 };
    let merged: { from: string; into: string } | undefined;
    try {
      if (decision === 'link') {
        if (!candidateLink) throw notFound(`Patient/${pair.candidateId} is no longer indexed`);
        if (duplicate) {
          // One individual indexed twice: the candidate's whole Person joins the record's, as Person/$merge does.
          if (!recordLink) throw notFound(`Patient/${pair.recordId} is no longer indexed`);
          if (recordLink.personId !== candidateLink.personId) {
            await persons.merge(candidateLink.personId, recordLink.personId, { by, at, taskId, ...(note ? { note } : {}) }, change);
            merged = { from: candidateLink.personId, into: recordLink.personId };
            stats['correction-merge'] = 1;
          }
        } else {
          await persons.moveManually(pair.recordId, candidateLink.personId, change);
        }
      } else if (recordLink && candidateLink && recordLink.personId === candidateLink.personId) {
        // They were put together automatically meanwhile: the reviewer's "not the same" separates them —
        // for a possible duplicate the candidate leaves, since the record's own link was never in question.
        await persons.unlink(duplicate ? pair.candidateId : pair.recordId, { by, at, taskId, note }, change);
      }
    } catch (err) {
      // The index did not change as decided, so the question is open again (the Task's history shows both versions).
      await ctx.tasks.update({ ...task, meta: undefined }, { ifMatch: resolved.meta?.versionId, allowCreate: false, cause }).catch(() => undefined);
      throw err;
    }
    const manual = { decision, by, at, taskId, ...(note ? { note } : {}) };
    // A merge question is remembered for its two Persons too: kept apart, they are not asked about again.
    const askedPersons = duplicatePersons(task);
    await Promise.all([
      ctx.store.setDecisions([
        { a: pair.recordId, b: pair.candidateId, decision: manual },
        ...(askedPersons ? [{ a: askedPersons[0], b: askedPersons[1], decision: manual }] : []),
      ]),
      ctx.store.closeReview(pair.recordId, pair.candidateId),
      ...(askedPersons ? [ctx.store.closeReview(...askedPersons)] : []),
      ctx.store.incrementStats(stats),
    ]);
    await ctx.relay.flushQuietly(cause.requestId);
    const personIds = [...new Set([recordLink?.personId, candidateLink?.personId].filter((p): p is string => p !== undefined))];
    await respond(req, res, 200, resolved, {
      subject: `Patient/${pair.recordId}`,
      entities: [
        { reference: `Task/${taskId}`, role: 'domain-resource', description: `decision: ${decision}${duplicate ? ' (possible duplicate)' : ''}` },
        { reference: `Patient/${pair.recordId}`, role: 'subject' },
        { reference: `Patient/${pair.candidateId}`, role: 'subject' },
        ...(duplicate
          ? personIds.map((p) => ({
              reference: `Person/${p}`,
              role: 'domain-resource' as const,
              description: merged?.from === p ? `merged into Person/${merged.into}` : merged?.into === p ? 'survivor of the merge' : 'possible duplicate',
            }))
          : []),
      ],
      criteria: [...MANUAL_MATCHING_CRITERIA],
    });
  };
}

export function unlinkRecord(ctx: MpiContext) {
  const persons = new Persons(ctx.store);
  return async (req: Request, res: Response): Promise<void> => {
    const recordId = String(req.params.id);
    describeExchange(res, { subtype: '$unlink', action: 'U', subject: `Patient/${recordId}`, ...REGISTRATION_EXCHANGE });
    const auth = authContext(res);
    const { note } = await operationArguments(req, UNLINK, ctx.validation, { bodyOptional: true });
    const by = actorOf(auth);
    const change = { cause: causeOf(req, res, `Patient/${recordId}`), operation: '$unlink' };
    const { personId, formerPersonId } = await persons.unlink(recordId, { by, at: new Date().toISOString(), ...(note ? { note } : {}) }, change);
    await ctx.store.incrementStats({ 'correction-unlink': 1, [`reviewer:${by}`]: 1 });
    await ctx.relay.flushQuietly(change.cause.requestId);
    const person = await persons.read(personId, auth.agency, await ctx.partnership.snapshot());
    await respond(req, res, 200, person, {
      entities: [
        { reference: `Patient/${recordId}`, role: 'subject' },
        { reference: `Person/${formerPersonId}`, role: 'domain-resource', description: 'unlinked from' },
        { reference: `Person/${personId}`, role: 'domain-resource', description: 'now in' },
      ],
      criteria: [...MANUAL_MATCHING_CRITERIA],
    });
  };
}

export function mergePersons(ctx: MpiContext) {
  const persons = new Persons(ctx.store);
  return async (req: Request, res: Response): Promise<void> => {
    describeExchange(res, { subtype: '$merge', action: 'U', ...REGISTRATION_EXCHANGE });
    const auth = authContext(res);
    const args = await operationArguments(req, MERGE, ctx.validation);
    const sourceId = personId(args['source-person'], `Parameters.parameter.where(name='source-person')`);
    const targetId = personId(args['target-person'], `Parameters.parameter.where(name='target-person')`);
    const note = args.note;
    const by = actorOf(auth);
    const change = { cause: causeOf(req, res, `Person/${targetId}`), operation: '$merge' };
    const moved = await persons.merge(sourceId, targetId, { by, at: new Date().toISOString(), ...(note ? { note } : {}) }, change);
    await ctx.store.incrementStats({ 'correction-merge': 1, [`reviewer:${by}`]: 1 });
    await ctx.relay.flushQuietly(change.cause.requestId);
    const person = await persons.read(targetId, auth.agency, await ctx.partnership.snapshot());
    await respond(req, res, 200, person, {
      subject: `Person/${targetId}`,
      entities: [
        { reference: `Person/${sourceId}`, role: 'domain-resource', description: `merged into Person/${targetId}` },
        { reference: `Person/${targetId}`, role: 'subject' },
        ...moved.map((id) => ({ reference: `Patient/${id}`, role: 'data' as const })),
      ],
      criteria: [...MANUAL_MATCHING_CRITERIA],
    });
  };
}
