/**
 * Code systems, identifier systems and extension URLs of the hub. One home,
 * so a URI is never spelled two ways. `https://fhir.infoshare.scot` is the
 * project's own namespace (not a live site).
 */
export const HUB_BASE = 'https://fhir.infoshare.scot';

export const CodeSystems = {
  agencyType: `${HUB_BASE}/CodeSystem/agency-type`,
  careTeamRole: `${HUB_BASE}/CodeSystem/care-team-role`,
  /** PractitionerRole.code job roles: health-visitor, social-worker, guidance-teacher, … */
  practitionerRole: `${HUB_BASE}/CodeSystem/practitioner-role`,
  dataCategory: `${HUB_BASE}/CodeSystem/data-category`,
  purpose: `${HUB_BASE}/CodeSystem/purpose-of-use`,
  maturityCriterion: `${HUB_BASE}/CodeSystem/maturity-criterion`,
  taskCode: `${HUB_BASE}/CodeSystem/task-code`,
  ispTerm: `${HUB_BASE}/CodeSystem/isp-term`,
  matchGrade: 'http://terminology.hl7.org/CodeSystem/match-grade',
  auditEventType: 'http://terminology.hl7.org/CodeSystem/audit-event-type',
  restfulInteraction: 'http://hl7.org/fhir/restful-interaction',
  auditSourceType: 'http://terminology.hl7.org/CodeSystem/security-source-type',
  participationType: 'http://terminology.hl7.org/CodeSystem/v3-ParticipationType',
  dicomAuditEventId: 'http://dicom.nema.org/resources/ontology/DCM',
  balp: 'https://profiles.ihe.net/ITI/BALP/CodeSystem/BasicAuditEntityType',
  identityAssurance: 'http://terminology.hl7.org/CodeSystem/v3-ObservationValue',
  // AuditEvent (IHE BALP) vocabularies.
  auditEntityType: 'http://terminology.hl7.org/CodeSystem/audit-entity-type',
  objectRole: 'http://terminology.hl7.org/CodeSystem/object-role',
  resourceTypes: 'http://hl7.org/fhir/resource-types',
  iso21089Lifecycle: 'http://terminology.hl7.org/CodeSystem/iso-21089-lifecycle',
  extraSecurityRoleType: 'http://terminology.hl7.org/CodeSystem/extra-security-role-type',
  balpAuthZSubType: 'https://profiles.ihe.net/ITI/BALP/CodeSystem/AuthZsubType',
  balpUserAgentType: 'https://profiles.ihe.net/ITI/BALP/CodeSystem/UserAgentTypes',
  /** The hub's own interaction names that are not FHIR restful interactions: `$match`, `token`, … */
  hubOperation: `${HUB_BASE}/CodeSystem/operation`,
  /** MessageHeader.eventCoding of alert messages (`ALERT_EVENTS`). */
  alertEvent: `${HUB_BASE}/CodeSystem/alert-event`,
  /** Flag.category of an alert (`ALERT_CATEGORIES`). */
  alertCategory: `${HUB_BASE}/CodeSystem/alert-category`,
  /** FHIR R4 MessageHeader.response.code: ok | transient-error | fatal-error. */
  responseCode: 'http://hl7.org/fhir/response-code',
  /** Endpoint.connectionType of the hub's own kinds of endpoint: `infoshare-hub` (a partnership hub's alerts, hub to hub). */
  endpointConnectionType: `${HUB_BASE}/CodeSystem/endpoint-connection-type`,
  /** Consent.provision.class of the hub's Consents: the data categories a Named Person / Lead Professional grants (`CONSENT_CATEGORIES`). */
  consentCategory: `${HUB_BASE}/CodeSystem/consent-category`,
  /** FHIR R4 Consent.scope. */
  consentScope: 'http://terminology.hl7.org/CodeSystem/consentscope',
  /** HL7 v3 ActReason: purpose of use `BTG` (break the glass). */
  actReason: 'http://terminology.hl7.org/CodeSystem/v3-ActReason',
  /** HL7 v3 ActCode: consent policy rules (`OPTIN`, `OPTOUT`). */
  actCode: 'http://terminology.hl7.org/CodeSystem/v3-ActCode',
  /** meta.tag on a shared plan, assessment or service request: the agency that wrote it (set by the hub from the token). */
  authorAgency: `${HUB_BASE}/CodeSystem/author-agency`,
  /** meta.tag on a shared plan, assessment or service request: the index Person (MPI) it is about. */
  indexPerson: `${HUB_BASE}/CodeSystem/index-person`,
  /** List.entry.flag of a chronology entry: what happened (plan-version, assessment, service-request, alert-raised, alert-closed). */
  chronologyEvent: `${HUB_BASE}/CodeSystem/chronology-event`,
} as const;

/**
 * Endpoint.connectionType code of a partnership's hub, on an Endpoint its
 * partnership Organization manages: where other partnerships' hubs forward
 * alerts (`address` = the hub's alerts FHIR base), and the key the hub signs
 * them with (`Extensions.hubPublicJwk`).
 */
export const HUB_CONNECTION_TYPE = 'infoshare-hub';

/**
 * Endpoint.connectionType code of a partnership hub's plans service (`address` = its plans
 * FHIR base): where another partnership's hub reads a plan for one of its agencies.
 */
export const HUB_PLANS_CONNECTION_TYPE = 'infoshare-hub-plans';

export const IdentifierSystems = {
  /** CHI number (Community Health Index), as in common use in Scotland. */
  chi: 'urn:oid:2.16.840.1.113883.2.1.3.2.4.16.53',
  /** An agency's (Organization's) id in the directory, used in tokens and client ids. */
  agency: `${HUB_BASE}/id/agency`,
  /** Business identifier of an Information Sharing Protocol (Contract.identifier). */
  isp: `${HUB_BASE}/id/isp`,
  /** Prefix of every agency's own local patient-identifier system: `${agencyPatientPrefix}/<agencyId>`. */
  agencyPatientPrefix: `${HUB_BASE}/id/patient`,
  /** An OAuth client id (an agency system), as claimed in a client assertion or carried in a token. */
  oauthClient: `${HUB_BASE}/id/client`,
  /** One of the hub's services (`directory`, `mpi`, …) as an audit source. */
  hubService: `${HUB_BASE}/id/service`,
} as const;

export const Extensions = {
  /** On Organization: the identifier system this agency's records use (valueUri). */
  patientIdentifierSystem: `${HUB_BASE}/StructureDefinition/patient-identifier-system`,
  /** On Organization: the agency's registered public key as a JWK (valueString, JSON). */
  agencyPublicJwk: `${HUB_BASE}/StructureDefinition/agency-public-jwk`,
  /** On a hub-to-hub Endpoint: the public key the partnership's hub signs forwarded messages with (valueString, JSON). */
  hubPublicJwk: `${HUB_BASE}/StructureDefinition/hub-public-jwk`,
  /** On Contract.term: one allowed flow of the ISP. */
  ispFlow: `${HUB_BASE}/StructureDefinition/isp-flow`,
  /** On AuditEvent: the maturity criteria an exchange demonstrates (valueCoding, repeating). */
  maturityCriterion: `${HUB_BASE}/StructureDefinition/maturity-criterion`,
  /** On AuditEvent.agent: the partnership (Organization) of the acting agency (valueReference). */
  partnership: `${HUB_BASE}/StructureDefinition/partnership`,
  /** On a registered Patient (MPI response): linked / review / new, the Person, the review Task, the score. */
  matchOutcome: `${HUB_BASE}/StructureDefinition/match-outcome`,
  /** FHIR $match: the match grade of a result. */
  matchGrade: 'http://hl7.org/fhir/StructureDefinition/match-grade',
  /** On each $match result (`search.extension`): the matching model version that scored it (valueString). */
  matchingModel: `${HUB_BASE}/StructureDefinition/matching-model`,
  /** On a delivered message's MessageHeader: the recipient agency's sequence number of it (valueUnsignedInt), so gaps show. */
  deliverySequence: `${HUB_BASE}/StructureDefinition/delivery-sequence`,
  /**
   * On an agency's Endpoint: it takes several messages in one request (a FHIR `batch` Bundle POSTed to its
   * address, answered with a `batch-response`: shared/messaging/message-batch.ts), at most this many
   * (valuePositiveInt). Absent: one message per request.
   */
  deliveryBatchSize: `${HUB_BASE}/StructureDefinition/delivery-batch-size`,
  /** On a person's shared-record resource (Consent, plans): the index Person (MPI) the hub resolved its subject to (valueReference `Person/<id>`). */
  subjectPerson: `${HUB_BASE}/StructureDefinition/subject-person`,
  /** On a chronology entry (List.entry): the agency the event came from (valueReference Organization). */
  sourceAgency: `${HUB_BASE}/StructureDefinition/source-agency`,
} as const;

/** The agency types of a partnership (DESIGN.md §1), as codes in `CodeSystems.agencyType`. */
export const AGENCY_TYPES = [
  'partnership',
  'nhs-board',
  'gp-cluster',
  'emergency-department',
  'out-of-hours',
  'community-nursing',
  'social-work',
  'education',
  'police',
  'fire-rescue',
  'housing',
  'third-sector',
] as const;
export type AgencyType = (typeof AGENCY_TYPES)[number];

/** Data categories an ISP flow names (`CodeSystems.dataCategory`). */
export const DATA_CATEGORIES = [
  'demographics',
  'np-lp-contact',
  'alert',
  'plan',
  'assessment',
  'chronology',
  'service-request',
  'consent',
] as const;
export type DataCategory = (typeof DATA_CATEGORIES)[number];

/** Purposes of use an ISP flow names (`CodeSystems.purpose`). */
export const PURPOSES = [
  'identity-matching',
  'child-wellbeing',
  'child-protection',
  'adult-support-protection',
  'direct-care',
  'emergency-care',
  'care-planning',
] as const;
export type Purpose = (typeof PURPOSES)[number];

/**
 * The data categories a Consent grants or withholds (`CodeSystems.consentCategory`), each one ISP data
 * category: a Named Person / Lead Professional shares a person's plans, assessments, requests for
 * assistance, chronology or alerts with an agency.
 */
export const CONSENT_CATEGORIES = ['plans', 'assessments', 'requests', 'chronology', 'alerts'] as const;
export type ConsentCategory = (typeof CONSENT_CATEGORIES)[number];

/** Events of alert messages (`CodeSystems.alertEvent`); `delivery-dead-letter` is the hub's report of a dead letter to its sender. */
export const ALERT_EVENTS = ['alert-raised', 'alert-updated', 'alert-closed', 'alert-accessed', 'delivery-dead-letter'] as const;
export type AlertEvent = (typeof ALERT_EVENTS)[number];

/** Alert categories (`CodeSystems.alertCategory`), each mapped to an ISP data category and purpose by the alerts service. */
export const ALERT_CATEGORIES = [
  'child-protection',
  'adult-protection',
  'violence-risk',
  'fire-risk',
  'missing-person',
  'child-wellbeing',
  'attendance',
  'break-glass-access',
] as const;
export type AlertCategory = (typeof ALERT_CATEGORIES)[number];

export function agencyPatientSystem(agencyId: string): string {
  return `${IdentifierSystems.agencyPatientPrefix}/${agencyId}`;
}
