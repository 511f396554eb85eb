/**
 * `POST /agencies/<agency>/reset` forgets what one simulated agency received,
 * its counters and behaviour (back to `ok`); `POST /agencies/reset` does so for
 * every agency. Delivery-token ids already seen are kept: a reset never lets a
 * replay through.
 */
import type { Request, Response } from 'express';
import { describeExchange } from '../../../shared/fhir/exchange-context.js';
import { respondJson } from '../../../shared/fhir/express.js';
import { simulatedAgency } from '../agency.js';
import type { AgencySimContext } from '../context.js';

export function resetAgency(ctx: AgencySimContext) {
  return async (req: Request, res: Response): Promise<void> => {
    describeExchange(res, { subtype: 'reset', action: 'D' });
    const agency = await simulatedAgency(ctx, req);
    await ctx.store.reset(agency);
    ctx.log.info({ agency }, 'agency-sim: reset');
    await respondJson(req, res, 200, { reset: [agency] });
  };
}

export function resetAll(ctx: AgencySimContext) {
  return async (req: Request, res: Response): Promise<void> => {
    describeExchange(res, { subtype: 'reset', action: 'D' });
    const agencies = await ctx.store.resetAll();
    ctx.log.info({ agencies }, 'agency-sim: every agency reset');
    await respondJson(req, res, 200, { reset: agencies });
  };
}
