/**
 * `POST /fhir/Patient` — an agency system registers (or re-submits) one of its
 * records. Re-submitting the same agency identifier makes a new version and
 * re-matches it. The answer is the stored record with the match outcome.
 */
import type { Patient } from 'fhir/r4.js';
import type { Request, Response } from 'express';
import { authContext } from '../../../shared/auth/middleware.js';
import { causeOf, describeExchange } from '../../../shared/fhir/exchange-context.js';
import { respond } from '../../../shared/fhir/express.js';
import { forbidden, isOperationOutcomeError } from '../../../shared/fhir/outcome.js';
import { validBody } from '../../../shared/fhir/request-body.js';
import { refusedBySecurityModel } from '../../../shared/fhir/rest/access.js';
import type { SubmittingAgency } from '../domain/from-patient.js';
import { registrationCriteria } from '../domain/criteria.js';
import type { PartnershipSnapshot } from '../partnership.js';
import { activeSubmittingAgency, submissionOf } from '../submission.js';
import type { RegistrationResult } from '../registration.js';
import { actorOf, type MpiContext } from '../context.js';

export const REGISTRATION_EXCHANGE = { dataCategory: 'demographics', purpose: 'identity-matching' } as const;

/** The submitting agency as registration needs it; 403 for a client that is not an active agency. */
export function submittingAgency(partnership: PartnershipSnapshot, agencyId: string, res: Response): SubmittingAgency {
  const agency = activeSubmittingAgency(partnership, agencyId);
  if (!agency) {
    refusedBySecurityModel(res);
    throw forbidden(`${agencyId} is not an active agency of a partnership in the directory`);
  }
  return agency;
}

/**
 * Runs `fn`; a 403 it throws (a record filed under another agency's identifier
 * system) is an authorisation refusal under the one security model, audited
 * as SI-L3 evidence like any other 403.
 */
export function refusedUnderSecurityModel<T>(res: Response, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (isOperationOutcomeError(err) && err.status === 403) refusedBySecurityModel(res);
    throw err;
  }
}

export function registerPatient(ctx: MpiContext) {
  return async (req: Request, res: Response): Promise<void> => {
    describeExchange(res, { subtype: 'create', action: 'C', ...REGISTRATION_EXCHANGE });
    const auth = authContext(res);
    const patient = await validBody<Patient>(req, 'Patient', ctx.validation);
    const partnership = await ctx.partnership.snapshot();
    const agency = submittingAgency(partnership, auth.agency, res);
    const submission = refusedUnderSecurityModel(res, () => submissionOf(patient, agency));
    const [result] = await ctx.registrar.register([submission], actorOf(auth), agency.agencyId, partnership, { cause: causeOf(req, res) });
    await respondRegistered(ctx, req, res, result!);
  };
}

/** The answer to one registration (POST, or a PUT): the stored record with its match outcome; audited as create or update. */
export async function respondRegistered(ctx: MpiContext, req: Request, res: Response, r: RegistrationResult): Promise<void> {
  await respond(req, res, r.status, r.response(), {
    action: r.status === 201 ? 'C' : 'U',
    subtype: r.status === 201 ? 'create' : 'update',
    subject: `Patient/${r.recordId}`,
    entities: [
      { reference: `Patient/${r.recordId}`, role: 'subject' },
      { reference: `Person/${r.plan.personId}`, role: 'domain-resource', description: `match outcome: ${r.plan.outcome}` },
      ...r.reviewTaskIds.map((id) => ({ reference: `Task/${id}`, role: 'domain-resource' as const, description: 'match review queued' })),
    ],
    criteria: registrationCriteria([r]),
    location: `${ctx.baseUrl}/Patient/${r.recordId}/_history/${r.stored.meta?.versionId}`,
  });
}
