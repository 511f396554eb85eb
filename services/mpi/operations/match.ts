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
import type { OperationDeclaration } from '../../../shared/fhir/parameters.js';
import { operationArguments, validBody } from '../../../shared/fhir/request-body.js';
import { blockingKeys } from '../domain/blocking.js';
import { toFeatures } from '../domain/features.js';
import { chiOf, demographicsOf } from '../domain/from-patient.js';
import { matchBundle, selectMatches, type MatchResult } from '../domain/match-bundle.js';
import { agencyOfRecord } from '../domain/person.js';
import { matchProbability, scoreAndGrade } from '../domain/engine.js';
import type { MpiContext } from '../context.js';
import { describeModel } from '../domain/model-version.js';
import { REGISTRATION_EXCHANGE } from './register.js';

const DEFAULT_COUNT = 10;
const MAX_COUNT = 100;

export function matchPatient(ctx: MpiContext) {
  return async (req: Request, res: Response): Promise<void> => {
    describeExchange(res, { subtype: '$match', action: 'E', ...REGISTRATION_EXCHANGE });
    const auth = authContext(res);
    const { patient, onlyCertainMatches, count } = await readMatchInput(req, ctx);
    const chi = chiOf(patient);
    const features = toFeatures({ id: '$match', ...demographicsOf(patient), chi: chi?.value });

    const [[candidateIds], inUse] = await Promise.all([ctx.store.candidateIds([blockingKeys(features)], ctx.maxBlockSize), ctx.models.current()]);
    const ids = candidateIds ?? [];
    const [candidateFeatures, partnership] = await Promise.all([ctx.store.getFeatures(ids), ctx.partnership.snapshot()]);
    const { model } = inUse;
    const scored = candidateFeatures.flatMap((f) => {
      if (!f?.ag || !partnership.demographicsMayFlow(f.ag, auth.agency).allowed) return [];
      const c = scoreAndGrade(features, f, model);
      return [{ id: f.id, probability: matchProbability(c.score, model), grade: c.grade }];
    });
    const kept = selectMatches(
      scored.map((s) => ({ ...s, record: { resourceType: 'Patient', id: s.id } })),
      { onlyCertainMatches, count },
    );
    const records = await ctx.store.getRecords(kept.map((k) => k.record.id!));
    const results: MatchResult[] = kept.flatMap((k, i) => (records[i] ? [{ ...k, record: records[i] }] : []));
    await respond(req, res, 200, matchBundle(results, ctx.baseUrl, describeModel(inUse.summary)), {
      entities: results.map((r) => ({ reference: `Patient/${r.record.id}`, role: 'subject' as const, description: `${r.grade} (${agencyOfRecord(r.record)})` })),
      criteria: ['MI-L4'],
    });
  };
}

/** FHIR's Patient/$match parameters (the ones this MPI supports). */
const MATCH = {
  name: '$match',
  parameters: {
    resource: { kind: 'resource', resourceType: 'Patient', required: true },
    onlyCertainMatches: { kind: 'boolean' },
    count: { kind: 'integer', min: 1 },
  },
} as const satisfies OperationDeclaration;

async function readMatchInput(req: Request, ctx: MpiContext): Promise<{ patient: Patient; onlyCertainMatches: boolean; count: number }> {
  const resourceType = (req.body as { resourceType?: unknown } | undefined)?.resourceType;
  // A bare Patient is accepted too: some clients post the resource itself.
  if (resourceType === 'Patient') return { patient: await validBody<Patient>(req, 'Patient', ctx.validation), onlyCertainMatches: false, count: DEFAULT_COUNT };
  if (resourceType !== 'Parameters') throw invalidResource('$match expects a Parameters resource with a Patient in parameter "resource"', 'resourceType');
  const args = await operationArguments(req, MATCH, ctx.validation);
  return { patient: args.resource as Patient, onlyCertainMatches: args.onlyCertainMatches ?? false, count: Math.min(args.count ?? DEFAULT_COUNT, MAX_COUNT) };
}
