/**
 * Updates of agency records, as FHIR clients send them — each a registration of
 * that record (a new version, re-matched), like `POST /fhir/Patient`:
 *
 *   PUT /fhir/Patient/{id}                        the record `{id}` (its agency identifier must name it)
 *   PUT /fhir/Patient?identifier=<system>|<value>  conditional update: "create or update my record <value>"
 *
 * and the same two as `PUT` entries of a transaction. `If-Match` (or an entry's
 * `request.ifMatch`) is honoured: a stale version is refused with 412.
 */
import type { BundleEntry, Patient } from 'fhir/r4.js';
import type { Request, Response } from 'express';
import { authContext } from '../../../shared/auth/middleware.js';
import { causeOf, describeExchange } from '../../../shared/fhir/exchange-context.js';
import { badRequest, forbidden, invalidResource, unprocessable } from '../../../shared/fhir/outcome.js';
import { validBody } from '../../../shared/fhir/request-body.js';
import { splitUnescaped, unescape } from '../../../shared/store/search-plan.js';
import { conditionHolds, versionCondition } from '../../../shared/store/version.js';
import type { SubmittingAgency } from '../domain/from-patient.js';
import { ownerOfRecordId } from '../domain/patient-search.js';
import { staleRecord, type Submission } from '../registration.js';
import { actorOf, type MpiContext } from '../context.js';
import { submissionOf } from '../submission.js';
import { REGISTRATION_EXCHANGE, refusedUnderSecurityModel, respondRegistered, submittingAgency } from './register.js';
import { FORMAT_PARAMETERS } from '../../../shared/fhir/media-types.js';

/** Which record a PUT names: by id, or by the agency identifier of a conditional update (`identifier=…`). */
export type UpdateTarget = { readonly id: string } | { readonly query: URLSearchParams };

/**
 * The registration a PUT asks for, or a refusal: 400 when the body contradicts
 * the URL, 403 for another agency's record or identifier system, 422 for a
 * conditional update by anything but the agency's own identifier.
 */
export function updateSubmission(patient: Patient, agency: SubmittingAgency, target: UpdateTarget, ifMatch: string | undefined, where = 'Patient'): Submission {
  const submission = submissionOf(patient, agency, where);
  const versioned = ifMatch === undefined ? submission : { ...submission, ifMatch: versionCondition(ifMatch) };
  if ('id' in target) {
    if (patient.id === undefined) throw badRequest(`The Patient must carry its id (${target.id})`, `${where}.id`);
    if (patient.id !== target.id) throw badRequest(`The Patient id ${patient.id} does not match the URL id ${target.id}`, `${where}.id`);
    if (submission.recordId !== target.id) {
      const owner = ownerOfRecordId(target.id, agency.systemsByAgency.values());
      if (owner !== undefined && owner !== agency.agencyId) throw forbidden(`Patient/${target.id} is ${owner}'s record; ${agency.agencyId} may update only its own`);
      throw unprocessable(
        `Patient/${target.id} is not the record of this agency identifier (${submission.parsed.localIdentifier.value} is Patient/${submission.recordId}); ` +
          'an agency identifier names one record and cannot be changed',
        `${where}.identifier`,
      );
    }
    return versioned;
  }
  const { system, value } = conditionalIdentifier(target.query, agency);
  if (system !== agency.system || value !== submission.parsed.localIdentifier.value) {
    throw badRequest(`The Patient's agency identifier (${submission.parsed.localIdentifier.value}) is not the one the URL names (${value})`, `${where}.identifier`);
  }
  if (patient.id !== undefined && patient.id !== submission.recordId) {
    throw badRequest(`The Patient id ${patient.id} is not the record the identifier names (Patient/${submission.recordId})`, `${where}.id`);
  }
  return versioned;
}

/** `identifier=<agency system>|<value>`, the only criterion a conditional update of an agency record takes. */
function conditionalIdentifier(query: URLSearchParams, agency: SubmittingAgency): { system: string; value: string } {
  const keys = [...query.keys()].filter((k) => !FORMAT_PARAMETERS.has(k));
  const values = query.getAll('identifier');
  if (keys.some((k) => k !== 'identifier') || values.length !== 1) {
    throw badRequest('A conditional update of an agency record takes one criterion: identifier=<your agency system>|<your identifier>', 'identifier');
  }
  const [system = '', ...rest] = splitUnescaped(values[0]!, '|');
  const sys = unescape(system);
  const value = unescape(rest.join('|'));
  if (rest.length === 0 || sys === '' || value === '') {
    throw badRequest('identifier must be <system>|<value> (your agency system and your identifier)', 'identifier');
  }
  const owner = agency.systemsByAgency.get(sys);
  if (owner !== undefined && owner !== agency.agencyId) throw forbidden(`${sys} is ${owner}'s identifier system; ${agency.agencyId} may update only its own records`);
  if (sys !== agency.system) {
    throw invalidResource(`A conditional update names a record by your agency identifier (system ${agency.system}), not ${sys}`, 'identifier');
  }
  return { system: sys, value };
}

/** A transaction entry's request: a create (`POST Patient`) or an update (`PUT Patient/{id}`, `PUT Patient?identifier=…`); 422 otherwise. */
export function entryRequest(entry: BundleEntry, where: string): { readonly target?: UpdateTarget; readonly ifMatch?: string } {
  const method = entry.request?.method;
  const url = String(entry.request?.url ?? '');
  // A conditional create (`ifNoneExist`) is not served here, nor If-Match on a create: ignored, they were answered as if
  // honoured — the record registered by its own identifier whatever the criteria named (as `If-None-Exist` on the
  // endpoint, which the shell refuses: shared/fhir/request-rules.ts).
  if (entry.request?.ifNoneExist !== undefined) {
    throw invalidResource('A conditional create (request.ifNoneExist) is not served: a record is registered by your agency identifier, and sending it again answers the record held; update one with PUT Patient?identifier=<your system>|<your identifier>', `${where}.request.ifNoneExist`);
  }
  if (method === 'POST' && /^Patient\/?$/.test(url)) {
    if (entry.request?.ifMatch !== undefined) throw invalidResource('request.ifMatch is for an update (PUT), not a create', `${where}.request.ifMatch`);
    return {};
  }
  if (method === 'PUT') {
    const ifMatch = typeof entry.request?.ifMatch === 'string' ? { ifMatch: entry.request.ifMatch } : {};
    const byId = /^Patient\/([A-Za-z0-9\-.]{1,64})$/.exec(url);
    if (byId) return { target: { id: byId[1]! }, ...ifMatch };
    const conditional = /^Patient\?(.*)$/.exec(url);
    if (conditional) return { target: { query: new URLSearchParams(conditional[1]) }, ...ifMatch };
  }
  throw invalidResource(
    'Each entry must register a Patient: POST Patient, PUT Patient/<id>, or PUT Patient?identifier=<your system>|<your identifier>',
    `${where}.request`,
  );
}

/** The registration an entry asks for (see `entryRequest`). */
export function entrySubmission(patient: Patient, request: ReturnType<typeof entryRequest>, agency: SubmittingAgency, where: string): Submission {
  return request.target ? updateSubmission(patient, agency, request.target, request.ifMatch, where) : submissionOf(patient, agency, where);
}

/**
 * Refuses (412) updates whose If-Match is stale, before anything is registered:
 * a transaction is all or nothing even when it spans several chunks (each chunk
 * checks again under the index lock).
 */
export async function assertVersionsCurrent(ctx: MpiContext, submissions: readonly Submission[]): Promise<void> {
  const versioned = submissions.filter((s) => s.ifMatch !== undefined);
  const current = await ctx.store.getRecords(versioned.map((s) => s.recordId));
  versioned.forEach((s, i) => {
    const now = current[i]?.meta?.versionId;
    if (!conditionHolds(s.ifMatch!, now)) throw staleRecord(s.recordId, now, s.ifMatch!);
  });
}

/** `PUT /fhir/Patient/{id}` and `PUT /fhir/Patient?identifier=…`. */
export function updatePatient(ctx: MpiContext) {
  return async (req: Request, res: Response): Promise<void> => {
    const id = typeof req.params.id === 'string' ? req.params.id : undefined;
    describeExchange(res, { subtype: 'update', action: 'U', ...(id ? { subject: `Patient/${id}` } : {}), ...REGISTRATION_EXCHANGE });
    const auth = authContext(res);
    const patient = await validBody<Patient>(req, 'Patient', ctx.validation);
    const partnership = await ctx.partnership.snapshot();
    const agency = submittingAgency(partnership, auth.agency, res);
    const target: UpdateTarget = id !== undefined ? { id } : { query: new URL(req.originalUrl, 'http://localhost').searchParams };
    const submission = refusedUnderSecurityModel(res, () => updateSubmission(patient, agency, target, req.header('if-match')));
    const [result] = await ctx.registrar.register([submission], actorOf(auth), agency.agencyId, partnership, { cause: causeOf(req, res) });
    await respondRegistered(ctx, req, res, result!);
  };
}
