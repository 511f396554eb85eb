/**
 * `GET /agencies/<agency>/received[?offset=&count=&summary=true]`: what a
 * simulated agency has received, in the order messages first arrived, each
 * with how many times it was delivered (a count above 1 means duplicate
 * deliveries, stored once), and the agency's counters (accepted, duplicates,
 * refused, replays, transient, fatal, down, batches), and how many batch
 * requests carried how many messages (`batchSizes`). `summary=true` leaves the
 * message Bundles out.
 */
import type { Request, Response } from 'express';
import { describeExchange } from '../../../shared/fhir/exchange-context.js';
import { respondJson } from '../../../shared/fhir/express.js';
import { wholeNumberParam } from '../../../shared/http/query-rules.js';
import { simulatedAgency } from '../agency.js';
import type { AgencySimContext } from '../context.js';
import { behaviourAt } from '../domain/behaviour.js';

const MAX_COUNT = 1000;

export function receivedMessages(ctx: AgencySimContext) {
  return async (req: Request, res: Response): Promise<void> => {
    describeExchange(res, { subtype: 'received', action: 'R' });
    const agency = await simulatedAgency(ctx, req);
    const offset = wholeNumberParam(req.query.offset, 'offset', 0, 0, Number.MAX_SAFE_INTEGER);
    const count = wholeNumberParam(req.query.count, 'count', 100, 1, MAX_COUNT);
    const summaryOnly = req.query.summary === 'true';
    const [{ total, messages }, stats, behaviour, batchSizes] = await Promise.all([
      ctx.store.received(agency, offset, count),
      ctx.store.stats(agency),
      ctx.store.behaviour(agency),
      ctx.store.batchSizes(agency),
    ]);
    await respondJson(req, res, 200, {
      agency,
      behaviour: behaviourAt(behaviour, ctx.now()),
      stats,
      batchSizes,
      total,
      offset,
      messages: summaryOnly ? messages.map(({ message: _message, ...rest }) => rest) : messages,
    });
  };
}
