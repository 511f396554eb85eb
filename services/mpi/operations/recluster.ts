/**
 * `POST /matching/$recluster` — runs the re-clustering pass now (Registrar.recluster):
 * the index's Persons worked out again from every record and the reviewers' decisions,
 * so they no longer depend on the order records arrived in. Reviewers only; answers
 * what it changed. The pass also runs by itself (workers/recluster.ts).
 */
import type { Request, Response } from 'express';
import { authContext } from '../../../shared/auth/middleware.js';
import { causeOf, describeExchange } from '../../../shared/fhir/exchange-context.js';
import type { OperationDeclaration } from '../../../shared/fhir/parameters.js';
import { operationArguments } from '../../../shared/fhir/request-body.js';
import { respondJson } from '../../../shared/fhir/express.js';
import { actorOf, type MpiContext } from '../context.js';

const RECLUSTER = { name: '$recluster', parameters: {} } as const satisfies OperationDeclaration;

export function reclusterEndpoint(ctx: MpiContext) {
  return async (req: Request, res: Response): Promise<void> => {
    describeExchange(res, { subtype: '$recluster', action: 'U', dataCategory: 'demographics', purpose: 'identity-matching' });
    // It takes no parameters: a body, if sent, is an empty Parameters — anything else is refused, not ignored.
    await operationArguments(req, RECLUSTER, ctx.validation, { bodyOptional: true });
    const auth = authContext(res);
    const result = await ctx.registrar.recluster(actorOf(auth), causeOf(req, res));
    const changed = result.moved + result.relabelled + result.reviewsOpened + result.reviewsWithdrawn > 0;
    // Automatic matching at work only when the pass changed the index.
    await respondJson(req, res, 200, result, { criteria: changed ? ['MI-L3'] : [] });
  };
}
