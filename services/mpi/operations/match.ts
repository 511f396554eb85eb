/**
 * `POST /fhir/Patient/$match` (FHIR $match): the agency records most likely to
 * be the given person, best first, each with a probability score and match
 * grade. Only records the caller's agency may see under the ISP are returned;
 * what was filtered is never counted.
 */
import type { Patient } from 'fhir/r4.js';
import type { Request, Response } from 'express';
import { authContext } from '../../../shared/auth/middleware.js';
import { describeExchange } from '../../../shared/fhir/exchange-context.js';
import { respond } from '../../../shared/fhir/express.js';
import { invalidResource } from '../../../shared/fhir/outcome.js';
import { assertValidResource } from '../../../shared/fhir/validate.js';
import { blockingKeys } from '../domain/blocking.js';
import { compare } from '../domain/engine.js';
import { toFeatures } from '../domain/features.js';
import { chiOf, demographicsOf } from '../domain/from-patient.js';
import { matchBundle, selectMatches, type MatchResult } from '../domain/match-bundle.js';
import { agencyOfRecord } from '../domain/person.js';
import { matchProbability } from '../domain/engine.js';
import type { MpiContext } from '../context.js';
import { param } from './parameters.js';
import { REGISTRATION_EXCHANGE } from './register.js';

const DEFAULT_COUNT = 10;
const MAX_COUNT = 100;

export function matchPatient(ctx: MpiContext) {
  return async (req: Request, res: Response): Promise<void> => {
    describeExchange(res, { subtype: '$match', action: 'E', ...REGISTRATION_EXCHANGE });
    const auth = authContext(res);
    const { patient, onlyCertainMatches, count } = readMatchInput(req.body);
    const chi = chiOf(patient);
    const features = toFeatures({ id: '$match', ...demographicsOf(patient), chi: chi?.value });

    const [candidateIds] = await ctx.store.candidateIds([blockingKeys(features)], ctx.maxBlockSize);
    const ids = candidateIds ?? [];
    const [candidateFeatures, partnership] = await Promise.all([ctx.store.getFeatures(ids), ctx.partnership.snapshot()]);
    const scored = candidateFeatures.flatMap((f) => {
      if (!f?.ag || !partnership.demographicsMayFlow(f.ag, auth.agency).allowed) return [];
      const c = compare(features, f, ctx.model);
      return [{ id: f.id, probability: matchProbability(c.score, ctx.model), grade: c.grade }];
    });
    const kept = selectMatches(
      scored.map((s) => ({ ...s, record: { resourceType: 'Patient', id: s.id } as Patient })),
      { onlyCertainMatches, count },
    );
    const records = await ctx.store.getRecords(kept.map((k) => k.record.id!));
    const results: MatchResult[] = kept.flatMap((k, i) => (records[i] ? [{ ...k, record: records[i]! }] : []));
    await respond(req, res, 200, matchBundle(results, ctx.baseUrl), {
      entities: results.map((r) => ({ reference: `Patient/${r.record.id}`, role: 'subject' as const, description: `${r.grade} (${agencyOfRecord(r.record)})` })),
      criteria: ['MI-L4'],
    });
  };
}

function readMatchInput(body: unknown): { patient: Patient; onlyCertainMatches: boolean; count: number } {
  const resourceType = (body as { resourceType?: unknown } | undefined)?.resourceType;
  // A bare Patient is accepted too: some clients post the resource itself.
  if (resourceType === 'Patient') return { patient: assertValidResource<Patient>(body, 'Patient'), onlyCertainMatches: false, count: DEFAULT_COUNT };
  if (resourceType !== 'Parameters') throw invalidResource('$match expects a Parameters resource with a Patient in parameter "resource"', 'resourceType');
  const p = body as import('fhir/r4.js').Parameters;
  const resource = param(p, 'resource')?.resource;
  if (!resource) throw invalidResource('Parameter "resource" (a Patient) is required', "Parameters.parameter.where(name='resource')");
  const patient = assertValidResource<Patient>(resource, 'Patient');
  const only = param(p, 'onlyCertainMatches');
  if (only && typeof only.valueBoolean !== 'boolean') {
    throw invalidResource('onlyCertainMatches must be a valueBoolean', "Parameters.parameter.where(name='onlyCertainMatches')");
  }
  const countParam = param(p, 'count');
  let count = DEFAULT_COUNT;
  if (countParam) {
    const n = countParam.valueInteger ?? countParam.valuePositiveInt;
    if (typeof n !== 'number' || n < 1) throw invalidResource('count must be a positive integer', "Parameters.parameter.where(name='count')");
    count = Math.min(n, MAX_COUNT);
  }
  return { patient, onlyCertainMatches: only?.valueBoolean ?? false, count };
}
