/**
 * Manual matching (MI-L3): a reviewer resolves a grey-zone pair or a possible
 * duplicate (`POST /fhir/Task/{id}/$resolve`), or corrects the index
 * (`POST /fhir/Patient/{id}/$unlink`, `POST /fhir/Person/$merge`). Each
 * decision is remembered so the same pair is not asked again and automatic
 * re-matching never undoes it.
 */
import type { Bundle, Parameters, Task } from 'fhir/r4.js';
import type { Request, Response } from 'express';
import { authContext } from '../../../shared/auth/middleware.js';
import { causeOf, describeExchange } from '../../../shared/fhir/exchange-context.js';
import { respond } from '../../../shared/fhir/express.js';
import { readParameters, type OperationDeclaration } from '../../../shared/fhir/parameters.js';
import { operationArguments, validBody } from '../../../shared/fhir/request-body.js';
import {
  badRequest,
  conflict,
  invalidIssues,
  invalidResource,
  isOperationOutcomeError,
  notFound,
  OperationOutcomeError,
  tooCostly,
} from '../../../shared/fhir/outcome.js';
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

/** A review a reviewer may decide now: the Task as read, its pair, and the decision. */
interface Resolution {
  readonly taskId: string;
  readonly task: Task;
  readonly pair: { readonly recordId: string; readonly candidateId: string };
  readonly decision: 'link' | 'not-link';
  readonly note?: string;
}

/**
 * Checks that `taskId` is an open match review naming two records (and, to link, that the
 * candidate is still indexed): 404 / 409 / 422 otherwise. Nothing is written.
 */
async function checkResolution(ctx: MpiContext, taskId: string, decision: 'link' | 'not-link', note: string | undefined): Promise<Resolution> {
  const task = await ctx.tasks.read('Task', taskId);
  if (!task.code?.coding?.some((c) => c.code === MATCH_REVIEW_CODE)) throw notFound(`Task/${taskId} is not a match review`);
  if (task.status !== 'requested') throw conflict(`Task/${taskId} was already resolved (status ${task.status})`);
  const pair = reviewPair(task);
  if (!pair) throw invalidResource(`Task/${taskId} does not name two records`, 'Task.input');
  if (decision === 'link') {
    const [candidateLink, recordLink] = await ctx.store.getLinks([pair.candidateId, pair.recordId]);
    if (!candidateLink) throw notFound(`Patient/${pair.candidateId} is no longer indexed`);
    if (reviewKind(task) === POSSIBLE_DUPLICATE && !recordLink) throw notFound(`Patient/${pair.recordId} is no longer indexed`);
  }
  return { taskId, task, pair, decision, ...(note ? { note } : {}) };
}

/** Did the reviewer decide as the model leaned when it asked (probability ≥ 0.5 ⇔ link)? */
function agreedWithModel(task: Task, decision: 'link' | 'not-link'): boolean | undefined {
  const probability = task.input?.find((i) => i.type.coding?.some((c) => c.code === 'probability'))?.valueDecimal;
  return probability === undefined ? undefined : probability >= 0.5 === (decision === 'link');
}

/**
 * Applies a checked decision: closes the Task (version-checked: of two reviewers deciding at
 * once, one gets 412), changes the index as decided, remembers the decision (automatic matching
 * never undoes it; the next estimation learns from it) and counts it for the report.
 */
async function applyResolution(
  ctx: MpiContext,
  persons: Persons,
  r: Resolution,
  by: string,
  at: string,
  cause: ReturnType<typeof causeOf>,
): Promise<{ resolved: Task; personIds: string[]; merged?: { from: string; into: string } }> {
  const { task, taskId, pair, decision, note } = r;
  const change = { cause, operation: '$resolve' };
  const { resource: resolved } = await ctx.tasks.update(resolvedTask(task, decision, by, at, note), { ifMatch: task.meta?.versionId, allowCreate: false, cause });

  const [candidateLink, recordLink] = await ctx.store.getLinks([pair.candidateId, pair.recordId]);
  const duplicate = reviewKind(task) === POSSIBLE_DUPLICATE;
  const agreed = agreedWithModel(task, decision);
  const stats: Record<string, number> = {
    [`decision-${decision}`]: 1,
    [`reviewer:${by}`]: 1,
    ...(agreed === undefined ? {} : { [agreed ? 'reviewer-agreed' : 'reviewer-disagreed']: 1 }),
  };
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
  const personIds = [...new Set([recordLink?.personId, candidateLink?.personId].filter((p): p is string => p !== undefined))];
  return { resolved, personIds, ...(merged ? { merged } : {}) };
}

/** What the audit record of one resolution names. */
function resolutionEntities(r: Resolution, personIds: readonly string[], merged: { from: string; into: string } | undefined) {
  const duplicate = reviewKind(r.task) === POSSIBLE_DUPLICATE;
  return [
    { reference: `Task/${r.taskId}`, role: 'domain-resource' as const, description: `decision: ${r.decision}${duplicate ? ' (possible duplicate)' : ''}` },
    { reference: `Patient/${r.pair.recordId}`, role: 'subject' as const },
    { reference: `Patient/${r.pair.candidateId}`, role: 'subject' as const },
    ...(duplicate
      ? personIds.map((p) => ({
          reference: `Person/${p}`,
          role: 'domain-resource' as const,
          description: merged?.from === p ? `merged into Person/${merged.into}` : merged?.into === p ? 'survivor of the merge' : 'possible duplicate',
        }))
      : []),
  ];
}

export function resolveReview(ctx: MpiContext) {
  const persons = new Persons(ctx.store);
  return async (req: Request, res: Response): Promise<void> => {
    const taskId = String(req.params.id);
    describeExchange(res, { subtype: '$resolve', action: 'U', ...REGISTRATION_EXCHANGE });
    const auth = authContext(res);
    const { decision, note } = await operationArguments(req, RESOLVE, ctx.validation);
    const resolution = await checkResolution(ctx, taskId, decision, note);
    const cause = causeOf(req, res, `Patient/${resolution.pair.recordId}`);
    const { resolved, personIds, merged } = await applyResolution(ctx, persons, resolution, actorOf(auth), new Date().toISOString(), cause);
    await ctx.relay.flushQuietly(cause.requestId);
    await respond(req, res, 200, resolved, {
      subject: `Patient/${resolution.pair.recordId}`,
      entities: resolutionEntities(resolution, personIds, merged),
      criteria: [...MANUAL_MATCHING_CRITERIA],
    });
  };
}

/** One resolution of a batch: `task` (Task/<id>), `decision`, optional `note`, as parts of a `resolution` parameter. */
const RESOLUTION_PART = {
  name: '$resolve (resolution)',
  parameters: {
    task: { kind: 'reference', required: true },
    decision: { kind: 'code', required: true, codes: ['link', 'not-link'] },
    note: { kind: 'string' },
  },
} as const satisfies OperationDeclaration;

/** Most Tasks one batch may resolve (the whole batch holds the index write lock). */
const MAX_BATCH = 100;

/**
 * `POST /fhir/Task/$resolve` — several reviews decided in one call, all or nothing: every
 * resolution is read and checked first (the Task exists, is an open match review, names
 * records still indexed; no Task twice), and one bad one refuses the whole batch — each
 * problem named by its `Parameters.parameter[i]` — before anything changes. The checks and the
 * decisions run under the index write lock, so no registration changes the index in between.
 */
export function resolveReviews(ctx: MpiContext) {
  const persons = new Persons(ctx.store);
  return async (req: Request, res: Response): Promise<void> => {
    describeExchange(res, { subtype: '$resolve', action: 'U', ...REGISTRATION_EXCHANGE });
    const auth = authContext(res);
    const params = await validBody<Parameters>(req, 'Parameters', ctx.validation);
    const requested = readBatch(params);
    const by = actorOf(auth);
    const at = new Date().toISOString();
    const cause = causeOf(req, res);
    const done = await ctx.store.withIndexLock(async () => {
      const checked = await Promise.all(
        requested.map(async (r) => {
          try {
            return { ok: await checkResolution(ctx, r.taskId, r.decision, r.note) };
          } catch (err) {
            if (!isOperationOutcomeError(err)) throw err;
            return { problem: { err, at: r.at } };
          }
        }),
      );
      const problems = checked.flatMap((c) => (c.problem ? [c.problem] : []));
      if (problems.length > 0) {
        throw invalidIssues(
          problems.map(({ err, at: expression }) => ({
            severity: 'error',
            code: err.outcome.issue[0]?.code ?? 'invalid',
            details: { text: `${err.message} — nothing in this batch was resolved` },
            expression: [expression],
          })),
          problems[0]!.err.status,
        );
      }
      const results = [];
      for (const c of checked) results.push({ resolution: c.ok!, ...(await applyResolution(ctx, persons, c.ok!, by, at, cause)) });
      return results;
    });
    await ctx.relay.flushQuietly(cause.requestId);
    const bundle: Bundle = {
      resourceType: 'Bundle',
      type: 'collection',
      entry: done.map((d) => ({ fullUrl: `${ctx.baseUrl}/Task/${d.resolution.taskId}`, resource: d.resolved })),
    };
    await respond(req, res, 200, bundle, {
      entities: done.flatMap((d) => resolutionEntities(d.resolution, d.personIds, d.merged)),
      criteria: [...MANUAL_MATCHING_CRITERIA],
    });
  };
}

/** The batch's resolutions, read and checked for form (400/422 before any Task is read). */
function readBatch(params: Parameters): { taskId: string; decision: 'link' | 'not-link'; note?: string; at: string }[] {
  const entries = params.parameter ?? [];
  if (entries.length === 0) throw badRequest('Give one `resolution` parameter per Task (parts: task, decision, note)', 'Parameters.parameter');
  if (entries.length > MAX_BATCH) throw tooCostly(`At most ${MAX_BATCH} resolutions in one batch (got ${entries.length})`, 'Parameters.parameter');
  const seen = new Map<string, number>();
  return entries.map((p, i) => {
    const at = `Parameters.parameter[${i}]`;
    if (p.name !== 'resolution') throw badRequest(`The batch $resolve takes only \`resolution\` parameters (got '${p.name}')`, `${at}.name`);
    let part;
    try {
      part = readParameters(RESOLUTION_PART, { resourceType: 'Parameters', parameter: p.part ?? [] });
    } catch (err) {
      if (!isOperationOutcomeError(err)) throw err;
      throw new OperationOutcomeError(
        { ...err.outcome, issue: err.outcome.issue.map((issue) => ({ ...issue, expression: [`${at}.part`] })) },
        err.status,
      );
    }
    const taskId = part.task.startsWith('Task/') ? part.task.slice('Task/'.length) : '';
    if (!/^[A-Za-z0-9\-.]{1,64}$/.test(taskId)) throw invalidResource('`task` must reference a Task (Task/<id>)', `${at}.part`);
    const earlier = seen.get(taskId);
    if (earlier !== undefined) throw badRequest(`Task/${taskId} is resolved twice in this batch (also Parameters.parameter[${earlier}])`, at);
    seen.set(taskId, i);
    return { taskId, decision: part.decision, ...(part.note ? { note: part.note } : {}), at };
  });
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
