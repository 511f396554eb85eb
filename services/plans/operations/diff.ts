/**
 * `GET /fhir/<Type>/:id/$diff?from=<vid>&to=<vid>` — what changed between two
 * versions (domain/diff.ts), as FHIR Parameters. `to` defaults to the latest
 * version, `from` to the one before `to`. Read through the one access check.
 */
import type { Request, Response } from 'express';
import { describeExchange } from '../../../shared/fhir/exchange-context.js';
import { respond } from '../../../shared/fhir/express.js';
import { badRequest, notFound } from '../../../shared/fhir/outcome.js';
import type { PlansContext } from '../context.js';
import type { PlansType } from '../domain/access.js';
import { earlierVersionsCriteria } from '../domain/criteria.js';
import { diffParameters, diffResources } from '../domain/diff.js';
import { callerOf, entityOf, pathParam, permitted } from './common.js';
import { isNamedProfessional } from './read.js';

const VERSION = /^\d{1,15}$/;

function versionParam(req: Request, name: string): string | undefined {
  const value = req.query[name];
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || !VERSION.test(value)) throw badRequest(`${name} must be a version number (e.g. ${name}=2)`, name);
  return value;
}

export function diffVersions(ctx: PlansContext, type: PlansType) {
  return async (req: Request, res: Response): Promise<void> => {
    const id = pathParam(req, 'id');
    describeExchange(res, { subtype: '$diff', action: 'R', entities: [entityOf(type, id)] });
    const fromParam = versionParam(req, 'from');
    const toParam = versionParam(req, 'to');
    const caller = await callerOf(res, ctx);
    const { value: versions, record, decision } = permitted(res, caller, await ctx.store.history(caller, type, id));
    const byVersion = new Map(versions.map((v) => [v.meta?.versionId ?? '', v]));
    const latest = versions[0]?.meta?.versionId ?? '1';
    const to = toParam ?? latest;
    const from = fromParam ?? String(Math.max(1, Number(to) - 1));
    const fromVersion = byVersion.get(from);
    const toVersion = byVersion.get(to);
    if (!fromVersion || !toVersion) throw notFound(`${type}/${id} has versions 1 to ${latest}: ${!fromVersion ? `from=${from}` : `to=${to}`} is not one of them`);
    const byNpLp = await isNamedProfessional(ctx, caller, record.personId);
    const parameters = diffParameters(`${type}/${id}/_history/${from}`, `${type}/${id}/_history/${to}`, diffResources(fromVersion, toVersion));
    await respond(req, res, 200, parameters, { criteria: earlierVersionsCriteria(decision, byNpLp) });
  };
}
