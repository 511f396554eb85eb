/**
 * Which scopes each kind of agency may be granted at the token endpoint.
 *
 * Scopes are coarse on purpose: they say what kind of record an agency system
 * may touch at all. Whether a given record about a given person may move from
 * one agency to another is decided by the ISP (and, in plans, by consent) at
 * the moment of the exchange, never by a scope.
 *
 * Tiers (each includes the one before):
 * - every agency: read the directory (agencies, endpoints, practitioners, Named
 *   Person / Lead Professional assignments, the ISP); sign the ISP it is a
 *   partner of (`system/Contract.sign`); maintain its own practitioners and
 *   roles; take part in matching (submit demographics, read cross-references
 *   and review tasks); receive and acknowledge alerts; read shared plans,
 *   assessments, notable events and documents; raise service requests (requests for assistance).
 * - agencies that hold a Named Person or Lead Professional role (NHS board,
 *   GP cluster, community nursing, social work, education, third sector):
 *   also assign Named Person / Lead Professional (CareTeam), raise alerts
 *   (Flag), and write plans, assessments, notable events (Observation, the
 *   chronology's), documents, tasks and consent.
 * - unscheduled-care and emergency services (A&E, out-of-hours, police, fire
 *   and rescue) and housing: also raise alerts (Flag) — a concern seen at the
 *   door must reach the Named Person — but hold no plans or assignments.
 * - the statutory partners that form a health and social care partnership (the
 *   NHS board and the council's social work): also register agencies and
 *   endpoints, draft and amend the ISP, decide manual match reviews and merge
 *   index persons, re-estimate the matching model, read the audit trail (the
 *   auditor scope) and attach documentary evidence to the maturity report.
 * A `partnership` Organization is not an agency system and gets no scopes.
 */
import { HubScopes, readScope, writeScope } from '../../../shared/auth/scopes.js';
import type { AgencyType } from '../../../shared/fhir/systems.js';

const read = (...types: string[]): string[] => types.map(readScope);
const write = (...types: string[]): string[] => types.map(writeScope);

/** Every agency. */
const BASELINE: readonly string[] = [
  ...read('Organization', 'Endpoint', 'Practitioner', 'PractitionerRole', 'CareTeam', 'Contract'),
  HubScopes.contractSign,
  ...write('Practitioner', 'PractitionerRole'),
  ...read('Patient', 'Person', 'Task'),
  ...write('Patient'),
  ...read('Flag', 'Communication'),
  ...write('Communication'),
  ...read('CarePlan', 'QuestionnaireResponse', 'DocumentReference', 'ServiceRequest', 'Consent', 'Observation'),
  ...write('ServiceRequest'),
];

/** Agencies that may hold a Named Person / Lead Professional role. */
const CARE_PROVIDER: readonly string[] = [
  ...BASELINE,
  ...write('CareTeam', 'Flag', 'CarePlan', 'QuestionnaireResponse', 'DocumentReference', 'Task', 'Consent', 'Observation'),
];

/** Unscheduled care, emergency services and housing. */
const RESPONDER: readonly string[] = [...BASELINE, ...write('Flag')];

/** The NHS board and the council: the bodies that form the partnership. */
const STATUTORY_PARTNER: readonly string[] = [
  ...CARE_PROVIDER,
  ...write('Organization', 'Endpoint', 'Contract', 'Person'),
  HubScopes.taskReview,
  HubScopes.matchingModel,
  ...read('AuditEvent'),
  HubScopes.evidenceAttest,
];

const SCOPES_BY_AGENCY_TYPE: Readonly<Record<AgencyType, readonly string[]>> = {
  partnership: [],
  'nhs-board': STATUTORY_PARTNER,
  'social-work': STATUTORY_PARTNER,
  'gp-cluster': CARE_PROVIDER,
  'community-nursing': CARE_PROVIDER,
  education: CARE_PROVIDER,
  'third-sector': CARE_PROVIDER,
  'emergency-department': RESPONDER,
  'out-of-hours': RESPONDER,
  police: RESPONDER,
  'fire-rescue': RESPONDER,
  housing: RESPONDER,
};

/** The scopes an agency of this type may be granted (no duplicates, stable order). */
export function allowedScopesFor(type: AgencyType): readonly string[] {
  return [...new Set(SCOPES_BY_AGENCY_TYPE[type])];
}

/** Whether the agency type is one of the partnership's statutory partners (may administer the directory). */
export function isStatutoryPartner(type: AgencyType): boolean {
  return type === 'nhs-board' || type === 'social-work';
}
