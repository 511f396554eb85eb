/**
 * ExchangeRecord → FHIR AuditEvent, shaped after IHE BALP (Basic Audit Log
 * Patterns). Pure and deterministic: the same record always gives the same
 * event, so the shape is unit-tested exactly and the stored JSON can be chained.
 *
 * Choices (each a place BALP leaves open or where the hub needs more):
 * - `type`: `rest` → audit-event-type `rest` with the restful interaction as
 *   subtype (BALP Read/Query/Create…); `login` → DICOM 110114 User
 *   Authentication (BALP/IUA token request); `authz` → DICOM 110113 Security
 *   Alert with BALP AuthZsubType `AuthZ-Consent` (when a consent entity took
 *   part) or `AuthZ-Role` (BALP AuthZconsent; that binding is required, so the
 *   service's own subtype moves to the request entity's `detail`);
 *   `transmit` / `disclosure` → DICOM 110106 Export with ISO 21089 `transmit` /
 *   `disclose` (BALP PrivacyDisclosure.Source). Subtypes that are not FHIR
 *   restful interactions (`$match`, `token`, …) are coded in
 *   `CodeSystems.hubOperation`; an `$operation` also carries restful `operation`.
 * - Patterns an exchange's record carries besides its own (`ExchangeRecord.patterns`),
 *   coded after its interaction: BALP AuthZsubType `AuthZ-Consent` (the answer rested on
 *   consent decisions; each decided entity's `detail` gives `access-decision` permit/deny,
 *   `access-basis` and `access-consent`, each deciding Consent is an entity typed by its
 *   resource type, as BALP AuthZconsent has it) and ISO 21089 `disclose` (another agency's
 *   data handed to the recipient agent, BALP PrivacyDisclosure). One event per exchange.
 * - Agents: the client application (DICOM 110153 Source Role ID when it sends a
 *   request to the hub, 110150 Application otherwise) with its agency as `who`
 *   (`Organization/<agency>`, the OAuth client id as `who.identifier`, the
 *   partnership in `Extensions.partnership`), `requestor: true` and the source
 *   network address; the acting PractitionerRole / Patient as BALP's user
 *   (v3-ParticipationType IRCP, `requestor: true`); the hub service itself
 *   (110152 Destination Role ID, or 110153 Source Role ID when it sends data on,
 *   or the BALP authorisation-server codes for login / authz), the same identity
 *   as `source.observer`; the receiving agency (110152) for cross-agency sends.
 * - Purpose: `purposeOfEvent` (event level: it comes from the request and the
 *   ISP flow, not from the token, so it is not `agent.purposeOfUse`).
 * - Data category: `entity.securityLabel` (`CodeSystems.dataCategory`) on the
 *   entities the category describes — subject, data and query entities; on the
 *   request entity only when there is none of those.
 * - Request id: BALP's `XrequestId` entity (`what.identifier.value`), which also
 *   carries the HTTP method, path and status as `detail` — or, outside an HTTP
 *   request, what triggered the exchange (`trigger`: job with queue, job id and
 *   attempt; schedule; outbound call with method, URL and status; committed
 *   change with its store). Absent facts are left out, never invented.
 * - Criteria: one `Extensions.maturityCriterion` extension per code (valueCoding
 *   in `CodeSystems.maturityCriterion`), sorted, only those the record gives.
 *
 * A `query` entity's `reference` is the search as the client sent it
 * (`Patient?identifier=…`); it goes to `entity.query` base64-encoded (BALP keeps
 * the raw request, malicious patterns included), never to `entity.what`.
 */
import { isIP } from 'node:net';
import type { AuditEvent, AuditEventAgent, AuditEventEntity, Coding, Extension, Reference } from 'fhir/r4.js';
import { CodeSystems, Extensions, IdentifierSystems } from '../fhir/systems.js';
import { isCriterionCode } from '../maturity/catalogue.js';
import type { EntityDecision, ExchangeEntity, ExchangeRecord } from './exchange.js';
import { AUDIT_ENTRY_VERSION, type AuditEntry } from './audit-entry.js';
import { canonicalJson } from '../canonical-json.js';

/** FHIR R4 restful-interaction codes. */
const RESTFUL_INTERACTIONS: ReadonlySet<string> = new Set([
  'read',
  'vread',
  'update',
  'patch',
  'delete',
  'history',
  'history-instance',
  'history-type',
  'history-system',
  'create',
  'search',
  'search-type',
  'search-system',
  'capabilities',
  'transaction',
  'batch',
  'operation',
]);

type ExchangeType = ExchangeRecord['type'];

const dcm = (code: string, display: string): Coding => ({ code, display, system: CodeSystems.dicomAuditEventId });

const EVENT_TYPE: Readonly<Record<ExchangeType, Coding>> = {
  rest: { code: 'rest', display: 'Restful Operation', system: CodeSystems.auditEventType },
  login: dcm('110114', 'User Authentication'),
  authz: dcm('110113', 'Security Alert'),
  transmit: dcm('110106', 'Export'),
  disclosure: dcm('110106', 'Export'),
};

const LIFECYCLE: Readonly<Partial<Record<ExchangeType, Coding>>> = {
  transmit: { code: 'transmit', display: 'Transmit Record Lifecycle Event', system: CodeSystems.iso21089Lifecycle },
  disclosure: { code: 'disclose', display: 'Disclose Record Lifecycle Event', system: CodeSystems.iso21089Lifecycle },
};

const AUTHZ_SUBTYPES: ReadonlySet<string> = new Set(['AuthZ-Consent', 'AuthZ-Role']);

const AGENT_TYPE = {
  sourceRole: dcm('110153', 'Source Role ID'),
  destinationRole: dcm('110152', 'Destination Role ID'),
  application: dcm('110150', 'Application'),
  user: { code: 'IRCP', display: 'information recipient', system: CodeSystems.participationType },
  oauthServer: { code: 'AuthzOauthService', display: 'OAuth Authorization Server', system: CodeSystems.balpUserAgentType },
  authServer: { code: 'authserver', display: 'authorization server', system: CodeSystems.extraSecurityRoleType },
} as const satisfies Record<string, Coding>;

const ENTITY_TYPE = {
  person: { code: '1', display: 'Person', system: CodeSystems.auditEntityType },
  systemObject: { code: '2', display: 'System Object', system: CodeSystems.auditEntityType },
  requestId: { code: 'XrequestId', display: 'X-Request-Id', system: CodeSystems.balp },
} as const satisfies Record<string, Coding>;

const OBJECT_ROLE = {
  patient: { code: '1', display: 'Patient', system: CodeSystems.objectRole },
  report: { code: '3', display: 'Report', system: CodeSystems.objectRole },
  domainResource: { code: '4', display: 'Domain Resource', system: CodeSystems.objectRole },
  query: { code: '24', display: 'Query', system: CodeSystems.objectRole },
} as const satisfies Record<string, Coding>;

/**
 * The BALP AuditEvent for one exchange. `now` is used only when the record has
 * no `recorded` time (the audit sink stamps one, so events it writes never need it).
 * Throws a RangeError for a criterion code that is not `<AREA>-L<level>`: a wrong
 * code would be false evidence, so it must fail in tests rather than be stored.
 */
export function toAuditEvent(exchange: ExchangeRecord, now: () => Date = () => new Date()): AuditEvent {
  const criteria = criteriaOf(exchange.criteria);
  // Members in key order, as canonical JSON writes them: the audit entry serialises the event as built, copying nothing.
  const event = { action: exchange.action, agent: agentsOf(exchange), entity: entitiesOf(exchange) } as { -readonly [K in keyof AuditEvent]: AuditEvent[K] };
  if (criteria.length) event.extension = criteria.map(criterionExtension);
  event.outcome = exchange.outcome;
  if (exchange.outcomeDescription) event.outcomeDesc = exchange.outcomeDescription;
  if (exchange.purpose) event.purposeOfEvent = [{ coding: [{ code: exchange.purpose, system: CodeSystems.purpose }] }];
  event.recorded = exchange.recorded ?? now().toISOString();
  event.resourceType = 'AuditEvent';
  event.source = {
    observer: hubServiceRef(exchange),
    type: [
      isSecurityEvent(exchange.type)
        ? { code: '6', display: 'Security Server', system: CodeSystems.auditSourceType }
        : { code: '4', display: 'Application Server', system: CodeSystems.auditSourceType },
    ],
  };
  event.subtype = subtypesOf(exchange);
  event.type = { ...EVENT_TYPE[exchange.type] };
  return event;
}

/** The audit stream entry for an exchange and the AuditEvent made from it (shared/audit/audit-entry.ts: its layout). */
export function toAuditEntry(exchange: ExchangeRecord, event: AuditEvent): AuditEntry {
  return {
    v: AUDIT_ENTRY_VERSION,
    recorded: event.recorded,
    service: exchange.service,
    outcome: event.outcome ?? '',
    criteria: criteriaOfEvent(event).join(','),
    requestId: exchange.requestId,
    agency: exchange.agent.agency ?? '',
    subject: exchange.subject ?? '',
    event: canonicalJson(event),
  };
}

/** The criteria codes of an event, in the order they are stored. */
export function criteriaOfEvent(event: AuditEvent): string[] {
  return (event.extension ?? [])
    .filter((e) => e.url === Extensions.maturityCriterion && e.valueCoding?.code)
    .map((e) => e.valueCoding?.code as string);
}

function criteriaOf(codes: readonly string[]): string[] {
  // The catalogue holds all 45 `<AREA>-L<level>` codes, so this checks the shape and the area at once.
  const bad = codes.filter((c) => !isCriterionCode(c));
  if (bad.length) throw new RangeError(`Not maturity criterion codes (expected <AREA>-L<1-5>): ${bad.join(', ')}`);
  return [...new Set(codes)].sort();
}

function criterionExtension(code: string): Extension {
  return { url: Extensions.maturityCriterion, valueCoding: { code, system: CodeSystems.maturityCriterion } };
}

function isSecurityEvent(type: ExchangeType): boolean {
  return type === 'login' || type === 'authz';
}

/** Data leaves the hub for another agency: the hub is the source, the receiver the destination. */
function isOutbound(exchange: ExchangeRecord): boolean {
  return exchange.type === 'transmit' || exchange.type === 'disclosure' || exchange.recipientAgency !== undefined;
}

function subtypesOf(exchange: ExchangeRecord): Coding[] {
  if (exchange.type === 'authz') {
    const code = AUTHZ_SUBTYPES.has(exchange.subtype)
      ? exchange.subtype
      : exchange.entities.some((e) => e.role === 'consent')
        ? 'AuthZ-Consent'
        : 'AuthZ-Role';
    return [{ code, system: CodeSystems.balpAuthZSubType }];
  }
  const lifecycle = LIFECYCLE[exchange.type];
  return [...(lifecycle ? [{ ...lifecycle }] : []), ...interactionCodings(exchange.subtype), ...patternCodings(exchange)];
}

/**
 * The BALP patterns the record carries besides its own interaction (`ExchangePattern`), after it —
 * so the interaction stays the first restful code (what `read`, `search-type`… readers look for).
 */
function patternCodings(exchange: ExchangeRecord): Coding[] {
  const patterns = exchange.patterns ?? [];
  const codings: Coding[] = [];
  if (patterns.includes('AuthZ-Consent')) codings.push({ code: 'AuthZ-Consent', system: CodeSystems.balpAuthZSubType });
  if (patterns.includes('disclose') && exchange.type !== 'disclosure') codings.push({ ...LIFECYCLE.disclosure! });
  return codings;
}

function interactionCodings(subtype: string): Coding[] {
  if (RESTFUL_INTERACTIONS.has(subtype)) return [{ code: subtype, system: CodeSystems.restfulInteraction }];
  const own: Coding = { code: subtype, system: CodeSystems.hubOperation };
  return subtype.startsWith('$') ? [{ code: 'operation', system: CodeSystems.restfulInteraction }, own] : [own];
}

function hubServiceRef(exchange: ExchangeRecord): Reference {
  return { display: `infoshare ${exchange.service}`, identifier: { system: IdentifierSystems.hubService, value: exchange.service } };
}

function agentsOf(exchange: ExchangeRecord): AuditEventAgent[] {
  const outbound = isOutbound(exchange);
  const agents: AuditEventAgent[] = [];
  const client = clientAgent(exchange, outbound);
  if (client) agents.push(client);
  const { practitionerRole, patient } = exchange.agent;
  for (const person of [practitionerRole, patient]) {
    if (person) agents.push({ requestor: true, type: { coding: [{ ...AGENT_TYPE.user }] }, who: { reference: person } });
  }
  agents.push({ requestor: false, type: { coding: [{ ...hubAgentType(exchange.type, outbound) }] }, who: hubServiceRef(exchange) });
  if (exchange.recipientAgency) {
    agents.push({
      requestor: false,
      type: { coding: [{ ...AGENT_TYPE.destinationRole }] },
      who: { reference: `Organization/${exchange.recipientAgency}` },
    });
  }
  return agents;
}

function clientAgent(exchange: ExchangeRecord, outbound: boolean): AuditEventAgent | undefined {
  const { clientId, agency, partnership } = exchange.agent;
  if (!clientId && !agency && !exchange.sourceAddress) return undefined;
  const sendsRequest = exchange.type === 'rest' && !outbound;
  // Members in key order (see toAuditEvent).
  const agent = {} as AuditEventAgent;
  if (partnership) agent.extension = [{ url: Extensions.partnership, valueReference: { reference: `Organization/${partnership}` } }];
  if (exchange.sourceAddress) agent.network = { address: exchange.sourceAddress, type: isIP(exchange.sourceAddress) ? '2' : '1' };
  agent.requestor = true;
  agent.type = { coding: [{ ...(sendsRequest ? AGENT_TYPE.sourceRole : AGENT_TYPE.application) }] };
  if (agency || clientId) {
    const who: Reference = {};
    if (clientId) who.identifier = { system: IdentifierSystems.oauthClient, value: clientId };
    if (agency) who.reference = `Organization/${agency}`;
    agent.who = who;
  }
  return agent;
}

function hubAgentType(type: ExchangeType, outbound: boolean): Coding {
  if (type === 'login') return AGENT_TYPE.oauthServer;
  if (type === 'authz') return AGENT_TYPE.authServer;
  return outbound ? AGENT_TYPE.sourceRole : AGENT_TYPE.destinationRole;
}

/** Entity order: the subject, the record's entities as given, then the request. */
function entitiesOf(exchange: ExchangeRecord): AuditEventEntity[] {
  const given = exchange.entities.filter((e) => !(e.role === 'subject' && e.reference === exchange.subject));
  // The data category labels the entities it describes (subject, data, query); the request when there is none of those.
  const label: Coding | undefined = exchange.dataCategory ? { code: exchange.dataCategory, system: CodeSystems.dataCategory } : undefined;
  const describesData = exchange.subject !== undefined || given.some((e) => e.role !== 'consent');
  const entities: AuditEventEntity[] = [];
  if (exchange.subject) entities.push(subjectEntity(exchange.subject, undefined, label));
  for (const entity of given) entities.push(entityOf(entity, label));
  entities.push(requestEntity(exchange, describesData ? undefined : label));
  return entities;
}

// Each entity's members in key order (see toAuditEvent): description, detail, query, role, securityLabel, type, what.
function subjectEntity(reference: string, description: string | undefined, label: Coding | undefined): AuditEventEntity {
  const entity: AuditEventEntity = {};
  if (description) entity.description = description;
  entity.role = { ...OBJECT_ROLE.patient };
  if (label) entity.securityLabel = [label];
  entity.type = { ...ENTITY_TYPE.person };
  entity.what = { reference };
  return entity;
}

function entityOf(given: ExchangeEntity, label: Coding | undefined): AuditEventEntity {
  if (given.role === 'subject') return subjectEntity(given.reference, given.description, label);
  const entity: AuditEventEntity = {};
  if (given.description) entity.description = given.description;
  if (given.decision) entity.detail = decisionDetails(given.decision);
  switch (given.role) {
    case 'query':
      entity.query = Buffer.from(given.reference, 'utf8').toString('base64');
      entity.role = { ...OBJECT_ROLE.query };
      if (label) entity.securityLabel = [label];
      entity.type = { ...ENTITY_TYPE.systemObject };
      return entity;
    case 'consent':
      // BALP AuthZconsent tells its consent entity by resource type, not role; the data category does not label it.
      entity.type = { code: resourceTypeOf(given.reference), system: CodeSystems.resourceTypes };
      entity.what = { reference: given.reference };
      return entity;
    case 'data':
    case 'domain-resource':
    case undefined:
      entity.role = { ...(given.role === 'data' ? OBJECT_ROLE.report : OBJECT_ROLE.domainResource) };
      if (label) entity.securityLabel = [label];
      entity.type = { ...ENTITY_TYPE.systemObject };
      entity.what = { reference: given.reference };
      return entity;
  }
}

/** An access decision as entity details (names distinct from the request entity's: details are read flattened). */
function decisionDetails(decision: EntityDecision): { type: string; valueString: string }[] {
  return [
    { type: 'access-decision', valueString: decision.permit ? 'permit' : 'deny' },
    { type: 'access-basis', valueString: decision.basis },
    ...(decision.consent ? [{ type: 'access-consent', valueString: decision.consent }] : []),
  ];
}

function resourceTypeOf(reference: string): string {
  return reference.split('/')[0] || reference;
}

function requestEntity(exchange: ExchangeRecord, label: Coding | undefined): AuditEventEntity {
  const detail: { type: string; valueString: string }[] = [];
  const add = (type: string, value: string | number | undefined) => {
    if (value !== undefined) detail.push({ type, valueString: String(value) });
  };
  add('method', exchange.method);
  add('path', exchange.path);
  add('status', exchange.httpStatus);
  const trigger = exchange.trigger;
  if (trigger) {
    add('trigger', trigger.kind);
    switch (trigger.kind) {
      case 'job':
        add('queue', trigger.queue);
        add('job', trigger.jobId);
        add('attempt', `${trigger.attempt} of ${trigger.maxAttempts}`);
        break;
      case 'schedule':
        add('schedule', trigger.name);
        break;
      case 'outbound':
        add('method', trigger.method);
        add('url', trigger.url);
        add('status', trigger.status);
        break;
      case 'change':
        add('store', trigger.store);
        break;
      case 'decision':
        add('decision', trigger.name);
        break;
    }
  }
  // AuthZ subtypes are bound to BALP's two codes; keep the service's own name here.
  if (exchange.type === 'authz' && !AUTHZ_SUBTYPES.has(exchange.subtype)) add('interaction', exchange.subtype);
  const entity: AuditEventEntity = { detail };
  if (label) entity.securityLabel = [label];
  entity.type = { ...ENTITY_TYPE.requestId };
  entity.what = { identifier: { value: exchange.requestId } };
  return entity;
}

/** The request entity's details by type: method, path, status — or trigger, queue, job, attempt, url… */
export function requestDetailsOfEvent(event: AuditEvent): Record<string, string | undefined> {
  return Object.fromEntries((event.entity ?? []).flatMap((e) => e.detail ?? []).map((d) => [d.type, d.valueString]));
}

/** What triggered a recorded exchange: `job`, `schedule`, `outbound`, `change`, `decision`, or undefined for an HTTP request to the hub. */
export function triggerOfEvent(event: AuditEvent): string | undefined {
  return requestDetailsOfEvent(event).trigger;
}
