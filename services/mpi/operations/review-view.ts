/**
 * `GET /fhir/Task/{id}/$review` (reviewers: `system/Task.review`): a match review side by
 * side — both records' values per field with each field's agreement level and weight under
 * the model in use — read when asked, never stored in the Task. Values of a record the ISP
 * keeps from the reviewer's agency are left out (`withheld`, with the ISP's reason).
 * 404 for an unknown Task or one that is not a match review naming two records.
 */
import type { Request, Response } from 'express';
import { authContext } from '../../../shared/auth/middleware.js';
import { describeExchange } from '../../../shared/fhir/exchange-context.js';
import { respond } from '../../../shared/fhir/express.js';
import { notFound } from '../../../shared/fhir/outcome.js';
import { compare, matchProbability } from '../domain/engine.js';
import { describeModel } from '../domain/model-version.js';
import { agencyOfRecord } from '../domain/person.js';
import { MATCH_REVIEW_CODE, reviewPair } from '../domain/review-task.js';
import { reviewViewParameters, type ReviewSide } from '../domain/review-view.js';
import type { MpiContext } from '../context.js';
import { REGISTRATION_EXCHANGE } from './register.js';

export function reviewView(ctx: MpiContext) {
  return async (req: Request, res: Response): Promise<void> => {
    const id = String(req.params.id);
    describeExchange(res, { subtype: '$review', action: 'R', subject: `Task/${id}`, ...REGISTRATION_EXCHANGE });
    const task = await ctx.tasks.read('Task', id);
    const pair = task.code?.coding?.some((c) => c.code === MATCH_REVIEW_CODE) ? reviewPair(task) : undefined;
    if (!pair) throw notFound(`Task/${id} is not a match review naming two records`);
    const ids = [pair.recordId, pair.candidateId];
    const [patients, features, links, inUse, partnership] = await Promise.all([
      ctx.store.getRecords(ids),
      ctx.store.getFeatures(ids),
      ctx.store.getLinks(ids),
      ctx.models.current(),
      ctx.partnership.snapshot(),
    ]);
    const reader = authContext(res).agency;
    const sides: ReviewSide[] = ids.map((recordId, i) => {
      const patient = patients[i];
      const agency = patient ? agencyOfRecord(patient) : recordId.split('.')[0];
      const flow = agency ? partnership.demographicsMayFlow(agency, reader) : { allowed: false as const, detail: 'the record has no owning agency' };
      return {
        recordId,
        ...(patient ? { patient } : {}),
        ...(agency ? { agency } : {}),
        ...(links[i] ? { personId: links[i].personId } : {}),
        ...(flow.allowed ? {} : { withheld: `The ISP does not let ${agency ?? 'its agency'}'s demographics flow to ${reader}: ${flow.detail}` }),
      };
    });
    const [a, b] = features;
    const comparison = a && b ? compare(a, b, inUse.model) : undefined;
    const view = reviewViewParameters({
      task,
      record: sides[0]!,
      candidate: sides[1]!,
      ...(comparison ? { comparison, probability: matchProbability(comparison.score, inUse.model) } : {}),
      model: describeModel(inUse.summary),
    });
    await respond(req, res, 200, view, {
      // The two people's records this read is about, each saying whether its values were shown.
      entities: sides.map((s) => ({
        reference: `Patient/${s.recordId}`,
        role: 'subject' as const,
        description: s.withheld === undefined && s.patient ? 'values shown' : 'values withheld',
      })),
      // Manual matching (MI-L3), streamlined: both records and the evidence in one read (MI-L5).
      criteria: ['MI-L3', 'MI-L5'],
    });
  };
}
