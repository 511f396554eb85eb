/**
 * "My views" (PC-L4): the person adds what they think to their own plan.
 *
 *   POST /fhir/CarePlan/:id/$add-views   patient/CarePlan.write (a patient token: their own plan only)
 *     Parameters: views (string, required, at most 4,000 characters)
 *
 * The views become a note of the plan — `CarePlan.note` with `authorReference` the
 * person (`Patient/<id>` of their token) and the time — in a new version, so the team
 * sees them in the plan, its `_history`, `$render` and the chronology. Nothing else of
 * the plan changes: a person adds their views, they do not edit the plan. The plan's
 * author agency stays its author. Refused: an agency token (403), no views or too long
 * (400), a plan that does not exist or is someone else's (the same 404: never telling
 * which); each audited, nothing written.
 */
import type { Request, Response } from 'express';
import type { CarePlan } from 'fhir/r4.js';
import { authContext } from '../../../shared/auth/middleware.js';
import { causeOf, describeExchange } from '../../../shared/fhir/exchange-context.js';
import { respond } from '../../../shared/fhir/express.js';
import { badRequest, forbidden } from '../../../shared/fhir/outcome.js';
import { operationArguments } from '../../../shared/fhir/request-body.js';
import type { PlansContext } from '../context.js';
import { callerOf, entityOf, pathParam, permitted } from './common.js';

const ADD_VIEWS = { name: '$add-views', parameters: { views: { kind: 'string', required: true } } } as const;
const MAX_VIEWS = 4000;

/** PC-L4: the person contributes to their own record; PC-L5: they read current information about their care. */
const MY_VIEWS_CRITERIA = ['PC-L4', 'PC-L5'];

export function addMyViews(ctx: PlansContext) {
  return async (req: Request, res: Response): Promise<void> => {
    const id = pathParam(req, 'id');
    describeExchange(res, { subtype: '$add-views', action: 'U', dataCategory: 'plan', entities: [entityOf('CarePlan', id)] });
    const auth = authContext(res);
    if (!auth.patient) throw forbidden('$add-views is the person adding their own views: sign in as the person (a patient token)');
    const { views } = await operationArguments(req, ADD_VIEWS, ctx.validation);
    const text = views.trim();
    if (text.length === 0) throw badRequest('views is empty: say what you think of your plan', 'Parameters.parameter[views]');
    if (text.length > MAX_VIEWS) throw badRequest(`views is longer than ${MAX_VIEWS} characters`, 'Parameters.parameter[views]');
    const caller = await callerOf(res, ctx);
    const { value: plan } = permitted(res, caller, await ctx.store.read(caller, 'CarePlan', id));
    const note = { authorReference: { reference: auth.patient }, time: new Date().toISOString(), text };
    const updated: CarePlan = { ...plan, note: [...(plan.note ?? []), note] };
    const stored = await ctx.store.update(updated, `W/"${plan.meta?.versionId ?? ''}"`, causeOf(req, res));
    await respond(req, res, 200, stored, { criteria: MY_VIEWS_CRITERIA });
  };
}
