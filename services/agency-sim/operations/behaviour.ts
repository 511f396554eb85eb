/**
 * `PUT /agencies/<agency>/behaviour` {mode, delayMs?, failure?, forMs?} tells a
 * simulated agency how to answer deliveries (domain/behaviour.ts);
 * `GET` reads the behaviour in force.
 */
import type { Request, Response } from 'express';
import { describeExchange } from '../../../shared/fhir/exchange-context.js';
import { respondJson } from '../../../shared/fhir/express.js';
import { simulatedAgency } from '../agency.js';
import type { AgencySimContext } from '../context.js';
import { behaviourAt, parseBehaviour } from '../domain/behaviour.js';

export function setBehaviour(ctx: AgencySimContext) {
  return async (req: Request, res: Response): Promise<void> => {
    describeExchange(res, { subtype: 'behaviour', action: 'U' });
    const agency = await simulatedAgency(ctx, req);
    const behaviour = parseBehaviour(req.body, { maxDelayMs: ctx.config.maxDelayMs, nowMs: ctx.now() });
    await ctx.store.setBehaviour(agency, behaviour);
    ctx.log.info({ agency, behaviour }, 'agency-sim: behaviour set');
    await respondJson(req, res, 200, { agency, behaviour });
  };
}

export function readBehaviour(ctx: AgencySimContext) {
  return async (req: Request, res: Response): Promise<void> => {
    describeExchange(res, { subtype: 'behaviour', action: 'R' });
    const agency = await simulatedAgency(ctx, req);
    await respondJson(req, res, 200, { agency, behaviour: behaviourAt(await ctx.store.behaviour(agency), ctx.now()) });
  };
}
