/**
 * Consent under the Named Person / Lead Professional's control (PD-L5):
 *
 *   POST /fhir/Consent                 grant          system/Consent.write, acting as the person's NP/LP
 *   PUT  /fhir/Consent/:id             narrow, extend, revoke (status inactive) — If-Match required
 *   GET  /fhir/Consent/:id             read           the NP/LP, or the person themselves
 *   GET  /fhir/Consent/:id/_history    every version  the same
 *   GET  /fhir/Consent/:id/_history/:v vread          the same
 *   GET  /fhir/Consent?patient=<ref>   search         the same; `status` narrows it
 *
 * Who is the NP/LP is the directory's answer now (the CareTeam about the person), and
 * the token's acting PractitionerRole must be one of them: anyone else — another
 * practitioner, the agency's system acting for no one — is refused with 403, audited as
 * a correct refusal (PD-L5, SI-L3), nothing written. A Consent is checked in full before
 * anything is stored (shape, scope, categories, purposes, actors, periods: 422 naming
 * each problem); its person must be one the index knows (422). The change and its audit
 * record commit together (the resource store's outbox), and the decision reads the new
 * version on the very next request.
 */
import { randomUUID } from 'node:crypto';
import type { Request, Response } from 'express';
import type { Consent } from 'fhir/r4.js';
import { authContext } from '../../../shared/auth/middleware.js';
import { hasScope } from '../../../shared/auth/scopes.js';
import { historyBundle, searchsetBundle } from '../../../shared/fhir/bundle.js';
import { causeOf, describeExchange } from '../../../shared/fhir/exchange-context.js';
import { respond } from '../../../shared/fhir/express.js';
import { badRequest, forbidden, invalidIssues, notFound, unprocessable } from '../../../shared/fhir/outcome.js';
import { refusedBySecurityModel, SECURITY_MODEL_CRITERIA } from '../../../shared/fhir/rest/access.js';
import { searchQueryOf, servedSearch } from '../../../shared/fhir/rest/search-query.js';
import { unservedSearchParameter } from '../../../shared/fhir/unserved-search-parameter.js';
import { RESULT_PARAMS } from '../../../shared/store/search-params.js';
import { idOrder, ResultParamsReader } from '../../../shared/store/search-plan.js';
import { validBody } from '../../../shared/fhir/request-body.js';
import type { ValidationPool } from '../../../shared/fhir/validation-pool.js';
import type { ResourceStore } from '../../../shared/store/resource-store.js';
import { personOfPatientReference, type ConsentFactsSources } from '../consent-facts.js';
import { namedProfessionalsOf } from '../subjects.js';
import { personOfConsent, withPerson } from '../consent-store.js';
import { consentProblems } from '../domain/consent.js';
import { requiredIfMatch } from './common.js';
import { FORMAT_PARAMETERS } from '../../../shared/fhir/media-types.js';

export interface ConsentOperationsDeps extends ConsentFactsSources {
  readonly consents: ResourceStore;
  readonly validation: ValidationPool;
  /** Absolute FHIR base of the plans service. */
  readonly baseUrl: string;
  readonly now?: () => Date;
}

/** PD-L5: the NP/LP grants, revokes and maintains access to the person's shared record. */
const CONSENT_CRITERIA = ['PD-L5'];
const CATEGORY = 'consent';
/** What a Consent search takes besides the result parameters, which the store reads as every search does. */
const SEARCH_PARAMETERS = ['patient', 'status'];
const RESULT_PARAMETERS: readonly string[] = RESULT_PARAMS;

export function createConsent(deps: ConsentOperationsDeps) {
  return async (req: Request, res: Response): Promise<void> => {
    describeExchange(res, { subtype: 'create', action: 'C', dataCategory: CATEGORY });
    const { id: _ignored, ...body } = await validBody<Consent>(req, 'Consent', deps.validation);
    const consent: Consent = { ...body, id: randomUUID() };
    const prepared = await prepareWrite(deps, res, consent);
    const stored = await deps.consents.create(prepared, { cause: causeOf(req, res, personOfConsent(prepared)) });
    await respond(req, res, 201, stored, {
      entities: [{ reference: `Consent/${stored.id}`, role: 'consent', description: 'granted' }],
      criteria: CONSENT_CRITERIA,
      location: `${deps.baseUrl}/Consent/${stored.id}/_history/${stored.meta?.versionId}`,
    });
  };
}

export function updateConsent(deps: ConsentOperationsDeps) {
  return async (req: Request, res: Response): Promise<void> => {
    const id = String(req.params.id);
    describeExchange(res, { subtype: 'update', action: 'U', dataCategory: CATEGORY, entities: [{ reference: `Consent/${id}`, role: 'consent' }] });
    const ifMatch = requiredIfMatch(req, 'a Consent');
    const body = await validBody<Consent>(req, 'Consent', deps.validation);
    if (body.id !== id) throw badRequest(`The Consent must carry its id ${id}`, 'Consent.id');
    const [previous] = await deps.consents.readMany('Consent', [id]);
    if (!previous) throw notFound(`Consent/${id} is not known (grant with POST /fhir/Consent)`);
    const prepared = await prepareWrite(deps, res, body);
    if (personOfConsent(prepared) !== personOfConsent(previous)) {
      throw unprocessable('A Consent stays about the person it was granted for: grant a new one for another person', 'Consent.patient');
    }
    const { resource } = await deps.consents.update(prepared, { ifMatch, allowCreate: false, cause: causeOf(req, res, personOfConsent(prepared)) });
    const change = resource.status === 'inactive' ? 'revoked' : 'changed';
    await respond(req, res, 200, resource, { entities: [{ reference: `Consent/${id}`, role: 'consent', description: change }], criteria: CONSENT_CRITERIA });
  };
}

export function readConsent(deps: ConsentOperationsDeps) {
  return async (req: Request, res: Response): Promise<void> => {
    const id = String(req.params.id);
    const vid = req.params.vid === undefined ? undefined : String(req.params.vid);
    describeExchange(res, { subtype: vid ? 'vread' : 'read', action: 'R', dataCategory: CATEGORY, entities: [{ reference: `Consent/${id}`, role: 'consent' }] });
    const [current] = await deps.consents.readMany('Consent', [id]);
    const unknown = () => notFound(`Consent/${id} is not known`);
    if (!current) throw unknown();
    await assertMayReadConsents(deps, res, personOfConsent(current), unknown);
    const resource = vid ? await deps.consents.vread('Consent', id, vid) : current;
    await respond(req, res, 200, resource, { criteria: CONSENT_CRITERIA });
  };
}

export function consentHistory(deps: ConsentOperationsDeps) {
  return async (req: Request, res: Response): Promise<void> => {
    const id = String(req.params.id);
    describeExchange(res, { subtype: 'history-instance', action: 'R', dataCategory: CATEGORY, entities: [{ reference: `Consent/${id}`, role: 'consent' }] });
    const [current] = await deps.consents.readMany('Consent', [id]);
    const unknown = () => notFound(`Consent/${id} is not known`);
    if (!current) throw unknown();
    await assertMayReadConsents(deps, res, personOfConsent(current), unknown);
    const versions = (await deps.consents.history('Consent', id)).flatMap((v) => (v.resource ? [v.resource] : []));
    await respond(req, res, 200, historyBundle(versions, deps.baseUrl), { criteria: CONSENT_CRITERIA });
  };
}

export function searchConsents(deps: ConsentOperationsDeps) {
  return async (req: Request, res: Response): Promise<void> => {
    describeExchange(res, { subtype: 'search-type', action: 'R', dataCategory: CATEGORY });
    const query = searchQueryOf(req);
    await servedSearch(req, res, query, () => {
      // The store pages Consents in id order: `_sort=_id` and `-_id` are honoured, any other refused here (so lenient can drop it).
      const sort = new ResultParamsReader(idOrder('Consent'));
      for (const [name, raw] of query) {
        if (name === '_sort' && sort.read(name, raw)) continue;
        if (!SEARCH_PARAMETERS.includes(name) && !RESULT_PARAMETERS.includes(name) && !FORMAT_PARAMETERS.has(name)) throw unservedSearchParameter('Consent', name, SEARCH_PARAMETERS);
      }
    });
    const patients = query.getAll('patient');
    if (patients.length !== 1) throw badRequest('Consent search needs exactly one patient: Patient/<id>', 'patient');
    const personId = await personOfPatientReference(deps, patients[0]!, now(deps));
    const unknown = () => notFound(`${patients[0]} is not a person the partnership's index knows`);
    if (!personId) throw unknown();
    const person = `Person/${personId}`;
    describeExchange(res, { subject: person });
    await assertMayReadConsents(deps, res, person, unknown);
    const storeQuery: Record<string, string> = { person };
    for (const name of ['status', '_sort', ...RESULT_PARAMETERS]) {
      const value = query.get(name);
      if (value !== null) storeQuery[name] = value;
    }
    const page = await deps.consents.search('Consent', storeQuery);
    const self = new URL(`${deps.baseUrl}/Consent?${query.toString()}`);
    await respond(req, res, 200, searchsetBundle(page, self, deps.baseUrl), { criteria: CONSENT_CRITERIA });
  };
}

/**
 * The checks every grant, narrowing, extension and revocation passes: a valid PCF
 * Consent, about a person the index knows, written by that person's NP/LP.
 */
async function prepareWrite(deps: ConsentOperationsDeps, res: Response, consent: Consent): Promise<Consent> {
  const problems = consentProblems(consent);
  if (problems.length > 0) {
    throw invalidIssues(problems.map((p) => ({ severity: 'error', code: 'business-rule', details: { text: p.text }, expression: [p.expression] })));
  }
  const patient = consent.patient?.reference ?? '';
  const personId = await personOfPatientReference(deps, patient, now(deps));
  if (!personId) throw unprocessable(`${patient} is not a person the partnership's index knows (register the person with the MPI first)`, 'Consent.patient');
  describeExchange(res, { subject: `Person/${personId}` });
  const auth = authContext(res);
  const { roles } = await namedProfessionalsOf(deps.mpi, deps.directory, personId, now(deps));
  if (!auth.practitionerRole || !roles.includes(auth.practitionerRole)) {
    refusedBySecurityModel(res);
    describeExchange(res, { criteriaOnDenial: [...SECURITY_MODEL_CRITERIA, ...CONSENT_CRITERIA] });
    throw forbidden(
      auth.practitionerRole
        ? `${auth.practitionerRole} is not this person's Named Person or Lead Professional: only they grant, change or revoke access`
        : "Only the person's Named Person or Lead Professional grants access: sign in acting as them (practitioner_role)",
    );
  }
  return withPerson(consent, personId);
}

/**
 * The person's NP/LP, or the person themselves, read their Consents; to anyone else they are not there:
 * refused with `unknown()`, the very answer an unknown id or person gets (never whether the person is known),
 * the reason kept in the audit record.
 */
async function assertMayReadConsents(deps: ConsentOperationsDeps, res: Response, person: string | undefined, unknown: () => Error): Promise<void> {
  const auth = authContext(res);
  const personId = person?.replace(/^Person\//, '');
  if (!personId) throw unknown();
  describeExchange(res, { subject: `Person/${personId}` });
  if (auth.patient) {
    if (!hasScope(auth.scopes, 'patient/Consent.read')) throw forbidden('missing scope patient/Consent.read');
    if ((await personOfPatientReference(deps, auth.patient, now(deps))) === personId) return;
    describeExchange(res, { outcomeDescription: "denied, answered as unknown: a person's own access reaches their own record only" });
    throw unknown();
  }
  if (!hasScope(auth.scopes, 'system/Consent.read')) throw forbidden('missing scope system/Consent.read');
  if (auth.practitionerRole && (await namedProfessionalsOf(deps.mpi, deps.directory, personId, now(deps))).roles.includes(auth.practitionerRole)) return;
  describeExchange(res, { outcomeDescription: "denied, answered as unknown: only the person's Named Person / Lead Professional, or the person, reads their Consents" });
  throw unknown();
}

function now(deps: ConsentOperationsDeps): Date {
  return (deps.now ?? (() => new Date()))();
}
