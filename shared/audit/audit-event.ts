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
import type { AuditEvent, AuditEventAgent, AuditEventEntity, CodeableConcept, Coding, Extension, Reference } from 'fhir/r4.js';
import { SERVICE_NAMES } from '../config.js';
import { CodeSystems, DATA_CATEGORIES, Extensions, IdentifierSystems, PURPOSES } from '../fhir/systems.js';
import { AREA_CODES, MATURITY_LEVELS, isCriterionCode } from '../maturity/catalogue.js';
import type { EntityDecision, ExchangeEntity, ExchangeRecord } from './exchange.js';
import type { AuditEntry } from './audit-entry.js';
import { vocabularyReference } from './vocabulary.js';
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

/**
 * How the builder writes the fixed parts of an event (codings, agent types, the hub's own agent and
 * source, criteria extensions, purpose and data-category labels): `full` as the values themselves —
 * the FHIR AuditEvent every reader answers — or `stored` as their references into the audit vocabulary
 * (`vocabulary.ts`), what a layout 4 entry stores. Expanding the stored form's references gives the full
 * form's canonical JSON byte for byte (`expandStoredEvent`).
 */
type Form = 'full' | 'stored';

/** A fixed part: its value's canonical JSON, and what the stored form writes (its reference; the value itself when the vocabulary lacks it). */
interface Fixed<T> {
  readonly text: string;
  readonly stored: T;
}

/** Every fixed part the builder uses, in the order defined: each should be in the vocabulary (audit-event.test.ts). */
const FIXED_PARTS: string[] = [];

function fixed<T>(value: T): Fixed<T> {
  const text = canonicalJson(value);
  FIXED_PARTS.push(text);
  // A reference is typed as the value it stands for: the stored form is only ever serialised.
  return { text, stored: (vocabularyReference(text) ?? value) as T };
}

function use<T>(part: Fixed<T>, form: Form): T {
  // The full form gets a fresh copy: callers may change the event they are given.
  return form === 'stored' ? part.stored : (JSON.parse(part.text) as T);
}

/** The canonical JSON of every fixed part the builder can write (what the audit vocabulary must hold). */
export function fixedPartsOfEvents(): readonly string[] {
  return FIXED_PARTS;
}

const dcm = (code: string, display: string): Coding => ({ code, display, system: CodeSystems.dicomAuditEventId });

const EXPORT = dcm('110106', 'Export');
const EVENT_TYPE: Readonly<Record<ExchangeType, Fixed<Coding>>> = {
  rest: fixed({ code: 'rest', display: 'Restful Operation', system: CodeSystems.auditEventType }),
  login: fixed(dcm('110114', 'User Authentication')),
  authz: fixed(dcm('110113', 'Security Alert')),
  transmit: fixed(EXPORT),
  disclosure: fixed(EXPORT),
};

const LIFECYCLE: Readonly<Partial<Record<ExchangeType, Fixed<Coding>>>> = {
  transmit: fixed({ code: 'transmit', display: 'Transmit Record Lifecycle Event', system: CodeSystems.iso21089Lifecycle }),
  disclosure: fixed({ code: 'disclose', display: 'Disclose Record Lifecycle Event', system: CodeSystems.iso21089Lifecycle }),
};

const INTERACTION = new Map([...RESTFUL_INTERACTIONS].map((code) => [code, fixed<Coding>({ code, system: CodeSystems.restfulInteraction })]));

const AUTHZ_SUBTYPE = new Map(['AuthZ-Consent', 'AuthZ-Role'].map((code) => [code, fixed<Coding>({ code, system: CodeSystems.balpAuthZSubType })]));
const AUTHZ_SUBTYPES: ReadonlySet<string> = new Set(AUTHZ_SUBTYPE.keys());

const AGENT_CODING = {
  sourceRole: dcm('110153', 'Source Role ID'),
  destinationRole: dcm('110152', 'Destination Role ID'),
  application: dcm('110150', 'Application'),
  user: { code: 'IRCP', display: 'information recipient', system: CodeSystems.participationType },
  oauthServer: { code: 'AuthzOauthService', display: 'OAuth Authorization Server', system: CodeSystems.balpUserAgentType },
  authServer: { code: 'authserver', display: 'authorization server', system: CodeSystems.extraSecurityRoleType },
} as const satisfies Record<string, Coding>;
type AgentKind = keyof typeof AGENT_CODING;

/** Each agent type as the event writes it: a CodeableConcept of its one coding. */
const AGENT_TYPE = Object.fromEntries(
  Object.entries(AGENT_CODING).map(([kind, coding]) => [kind, fixed<CodeableConcept>({ coding: [coding] })]),
) as Readonly<Record<AgentKind, Fixed<CodeableConcept>>>;

const ENTITY_TYPE = {
  person: fixed<Coding>({ code: '1', display: 'Person', system: CodeSystems.auditEntityType }),
  systemObject: fixed<Coding>({ code: '2', display: 'System Object', system: CodeSystems.auditEntityType }),
  requestId: fixed<Coding>({ code: 'XrequestId', display: 'X-Request-Id', system: CodeSystems.balp }),
};

const OBJECT_ROLE = {
  patient: fixed<Coding>({ code: '1', display: 'Patient', system: CodeSystems.objectRole }),
  report: fixed<Coding>({ code: '3', display: 'Report', system: CodeSystems.objectRole }),
  domainResource: fixed<Coding>({ code: '4', display: 'Domain Resource', system: CodeSystems.objectRole }),
  query: fixed<Coding>({ code: '24', display: 'Query', system: CodeSystems.objectRole }),
};

/** The hub service's own agent (who, its type by role) and the event's source, per service: the same on every event it records. */
type HubRole = 'oauthServer' | 'authServer' | 'sourceRole' | 'destinationRole';
const HUB_ROLES: readonly HubRole[] = ['oauthServer', 'authServer', 'sourceRole', 'destinationRole'];

function hubServiceRef(service: string): Reference {
  return { display: `infoshare ${service}`, identifier: { system: IdentifierSystems.hubService, value: service } };
}

function hubAgentOf(service: string, role: HubRole): AuditEventAgent {
  return { requestor: false, type: { coding: [AGENT_CODING[role]] }, who: hubServiceRef(service) };
}

function sourceOf(service: string, security: boolean): AuditEvent['source'] {
  const type = security ? { code: '6', display: 'Security Server', system: CodeSystems.auditSourceType } : { code: '4', display: 'Application Server', system: CodeSystems.auditSourceType };
  return { observer: hubServiceRef(service), type: [type] };
}

const HUB_AGENT = new Map(SERVICE_NAMES.flatMap((service) => HUB_ROLES.map((role) => [`${service} ${role}`, fixed(hubAgentOf(service, role))] as const)));
const SOURCE = new Map(SERVICE_NAMES.flatMap((service) => [false, true].map((security) => [`${service} ${security}`, fixed(sourceOf(service, security))] as const)));

const CRITERION = new Map(
  AREA_CODES.flatMap((area) => MATURITY_LEVELS.map((level) => `${area}-L${level}`)).map((code) => [
    code,
    fixed<Extension>({ url: Extensions.maturityCriterion, valueCoding: { code, system: CodeSystems.maturityCriterion } }),
  ]),
);

const PURPOSE = new Map(PURPOSES.map((code) => [code as string, fixed<CodeableConcept[]>([{ coding: [{ code, system: CodeSystems.purpose }] }])]));

/** The hub's own interactions recorded most (every alert delivery, token, match, pull, consent check…); others are written in full. */
const HUB_OPERATION = new Map(
  ['$process-message', '$process-message (acknowledgement)', '$process-message (repeat)', '$process-message (forwarded)', 'deliver', 'received', 'pull', 'token', '$match', '$inbox', '$delivery-status', '$chronology', 'consent-check', '$accesses', '$peer-read', 'jwks'].map((code) => [
    code,
    fixed<Coding>({ code, system: CodeSystems.hubOperation }),
  ]),
);

/** Request entity details every record of a kind repeats (method, status, trigger): the others are written in full. */
const DETAIL = new Map(
  [
    ...['GET', 'POST', 'PUT', 'DELETE', 'PATCH'].map((value) => ['method', value]),
    ...['200', '201', '202', '204', '304', '400', '401', '403', '404', '409', '412', '422'].map((value) => ['status', value]),
    ...['job', 'schedule', 'outbound', 'change', 'decision'].map((value) => ['trigger', value]),
  ].map(([type, value]) => [`${type} ${value}`, fixed({ type: type!, valueString: value! })]),
);

/** A data category's label, as each entity it describes carries it (`securityLabel`). */
const LABEL = new Map(DATA_CATEGORIES.map((code) => [code as string, fixed<Coding[]>([{ code, system: CodeSystems.dataCategory }])]));

/** A fixed part looked up by key, or — for a value no table holds (a service, purpose or category added since) — made on the spot, written in full. */
function lookUp<T>(table: ReadonlyMap<string, Fixed<T>>, key: string, make: () => T): Fixed<T> {
  return table.get(key) ?? { text: canonicalJson(make()), stored: make() };
}

/**
 * The BALP AuditEvent for one exchange. `now` is used only when the record has
 * no `recorded` time (the audit sink stamps one, so events it writes never need it).
 * Throws a RangeError for a criterion code that is not `<AREA>-L<level>`: a wrong
 * code would be false evidence, so it must fail in tests rather than be stored.
 */
export function toAuditEvent(exchange: ExchangeRecord, now: () => Date = () => new Date()): AuditEvent {
  return buildEvent(exchange, now, 'full');
}

/**
 * The same event in its stored form (layout 4): its fixed parts written as references into the audit
 * vocabulary. Only for serialising (`storedAuditEntry`): the references are not FHIR.
 */
function toStoredEvent(exchange: ExchangeRecord): AuditEvent {
  return buildEvent(exchange, () => new Date(), 'stored');
}

function buildEvent(exchange: ExchangeRecord, now: () => Date, form: Form): AuditEvent {
  const criteria = criteriaOf(exchange.criteria);
  // Members in key order, as canonical JSON writes them: the audit entry serialises the event as built, copying nothing.
  const event = { action: exchange.action, agent: agentsOf(exchange, form), entity: entitiesOf(exchange, form) } as { -readonly [K in keyof AuditEvent]: AuditEvent[K] };
  if (criteria.length) event.extension = criteria.map((code) => use(CRITERION.get(code)!, form));
  event.outcome = exchange.outcome;
  if (exchange.outcomeDescription) event.outcomeDesc = exchange.outcomeDescription;
  if (exchange.purpose) {
    const purpose = exchange.purpose;
    event.purposeOfEvent = use(lookUp(PURPOSE, purpose, () => [{ coding: [{ code: purpose, system: CodeSystems.purpose }] }]), form);
  }
  event.recorded = exchange.recorded ?? now().toISOString();
  event.resourceType = 'AuditEvent';
  const security = isSecurityEvent(exchange.type);
  event.source = use(lookUp(SOURCE, `${exchange.service} ${security}`, () => sourceOf(exchange.service, security)), form);
  event.subtype = subtypesOf(exchange, form);
  event.type = use(EVENT_TYPE[exchange.type], form);
  return event;
}

/** The audit stream entry for an exchange and the AuditEvent made from it, in layout 3 (the event in full). */
export function toAuditEntry(exchange: ExchangeRecord, event: AuditEvent): AuditEntry {
  return entryOf(exchange, event, '3', canonicalJson(event));
}

/**
 * The audit stream entry the hub writes for an exchange: layout 4, the event in its stored form
 * (its fixed parts as vocabulary references; `eventOfEntry` expands them). The record must carry
 * its `recorded` time (the writers stamp it).
 */
export function storedAuditEntry(exchange: ExchangeRecord & { readonly recorded: string }): AuditEntry {
  return entryOf(exchange, exchange, '4', canonicalJson(toStoredEvent(exchange)));
}

function entryOf(exchange: ExchangeRecord, event: Pick<AuditEvent, 'recorded' | 'outcome'>, v: string, text: string): AuditEntry {
  return {
    v,
    recorded: event.recorded,
    service: exchange.service,
    outcome: event.outcome ?? '',
    criteria: criteriaOf(exchange.criteria).join(','),
    requestId: exchange.requestId,
    agency: exchange.agent.agency ?? '',
    subject: exchange.subject ?? '',
    event: text,
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
  if (codes.length < 2) return codes as string[];
  return [...new Set(codes)].sort();
}

function isSecurityEvent(type: ExchangeType): boolean {
  return type === 'login' || type === 'authz';
}

/** Data leaves the hub for another agency: the hub is the source, the receiver the destination. */
function isOutbound(exchange: ExchangeRecord): boolean {
  return exchange.type === 'transmit' || exchange.type === 'disclosure' || exchange.recipientAgency !== undefined;
}

function subtypesOf(exchange: ExchangeRecord, form: Form): Coding[] {
  if (exchange.type === 'authz') {
    const code = AUTHZ_SUBTYPES.has(exchange.subtype)
      ? exchange.subtype
      : exchange.entities.some((e) => e.role === 'consent')
        ? 'AuthZ-Consent'
        : 'AuthZ-Role';
    return [use(AUTHZ_SUBTYPE.get(code)!, form)];
  }
  const lifecycle = LIFECYCLE[exchange.type];
  const codings: Coding[] = lifecycle ? [use(lifecycle, form)] : [];
  interactionCodings(exchange.subtype, form, codings);
  patternCodings(exchange, form, codings);
  return codings;
}

/**
 * The BALP patterns the record carries besides its own interaction (`ExchangePattern`), after it —
 * so the interaction stays the first restful code (what `read`, `search-type`… readers look for).
 */
function patternCodings(exchange: ExchangeRecord, form: Form, codings: Coding[]): void {
  const patterns = exchange.patterns ?? [];
  if (patterns.includes('AuthZ-Consent')) codings.push(use(AUTHZ_SUBTYPE.get('AuthZ-Consent')!, form));
  if (patterns.includes('disclose') && exchange.type !== 'disclosure') codings.push(use(LIFECYCLE.disclosure!, form));
}

function interactionCodings(subtype: string, form: Form, codings: Coding[]): void {
  const restful = INTERACTION.get(subtype);
  if (restful) {
    codings.push(use(restful, form));
    return;
  }
  if (subtype.startsWith('$')) codings.push(use(INTERACTION.get('operation')!, form));
  const own = HUB_OPERATION.get(subtype);
  codings.push(own ? use(own, form) : { code: subtype, system: CodeSystems.hubOperation });
}

function agentsOf(exchange: ExchangeRecord, form: Form): AuditEventAgent[] {
  const outbound = isOutbound(exchange);
  const agents: AuditEventAgent[] = [];
  const client = clientAgent(exchange, outbound, form);
  if (client) agents.push(client);
  const { practitionerRole, patient } = exchange.agent;
  for (const person of [practitionerRole, patient]) {
    if (person) agents.push({ requestor: true, type: use(AGENT_TYPE.user, form), who: { reference: person } });
  }
  const role = hubRole(exchange.type, outbound);
  agents.push(use(lookUp(HUB_AGENT, `${exchange.service} ${role}`, () => hubAgentOf(exchange.service, role)), form));
  if (exchange.recipientAgency) {
    agents.push({ requestor: false, type: use(AGENT_TYPE.destinationRole, form), who: { reference: `Organization/${exchange.recipientAgency}` } });
  }
  return agents;
}

function clientAgent(exchange: ExchangeRecord, outbound: boolean, form: Form): AuditEventAgent | undefined {
  const { clientId, agency, partnership } = exchange.agent;
  if (!clientId && !agency && !exchange.sourceAddress) return undefined;
  const sendsRequest = exchange.type === 'rest' && !outbound;
  // Members in key order (see buildEvent).
  const agent = {} as AuditEventAgent;
  if (partnership) agent.extension = [{ url: Extensions.partnership, valueReference: { reference: `Organization/${partnership}` } }];
  if (exchange.sourceAddress) agent.network = { address: exchange.sourceAddress, type: isIP(exchange.sourceAddress) ? '2' : '1' };
  agent.requestor = true;
  agent.type = use(sendsRequest ? AGENT_TYPE.sourceRole : AGENT_TYPE.application, form);
  if (agency || clientId) {
    const who: Reference = {};
    if (clientId) who.identifier = { system: IdentifierSystems.oauthClient, value: clientId };
    if (agency) who.reference = `Organization/${agency}`;
    agent.who = who;
  }
  return agent;
}

function hubRole(type: ExchangeType, outbound: boolean): HubRole {
  if (type === 'login') return 'oauthServer';
  if (type === 'authz') return 'authServer';
  return outbound ? 'sourceRole' : 'destinationRole';
}

/** Entity order: the subject, the record's entities as given, then the request. */
function entitiesOf(exchange: ExchangeRecord, form: Form): AuditEventEntity[] {
  const given = exchange.entities.filter((e) => !(e.role === 'subject' && e.reference === exchange.subject));
  // The data category labels the entities it describes (subject, data, query); the request when there is none of those.
  const category = exchange.dataCategory;
  const label: Fixed<Coding[]> | undefined = category ? lookUp(LABEL, category, () => [{ code: category, system: CodeSystems.dataCategory }]) : undefined;
  const describesData = exchange.subject !== undefined || given.some((e) => e.role !== 'consent');
  const entities: AuditEventEntity[] = [];
  if (exchange.subject) entities.push(subjectEntity(exchange.subject, undefined, label, form));
  for (const entity of given) entities.push(entityOf(entity, label, form));
  entities.push(requestEntity(exchange, describesData ? undefined : label, form));
  return entities;
}

// Each entity's members in key order (see buildEvent): description, detail, query, role, securityLabel, type, what.
function subjectEntity(reference: string, description: string | undefined, label: Fixed<Coding[]> | undefined, form: Form): AuditEventEntity {
  const entity: AuditEventEntity = {};
  if (description) entity.description = description;
  entity.role = use(OBJECT_ROLE.patient, form);
  if (label) entity.securityLabel = use(label, form);
  entity.type = use(ENTITY_TYPE.person, form);
  entity.what = { reference };
  return entity;
}

function entityOf(given: ExchangeEntity, label: Fixed<Coding[]> | undefined, form: Form): AuditEventEntity {
  if (given.role === 'subject') return subjectEntity(given.reference, given.description, label, form);
  const entity: AuditEventEntity = {};
  if (given.description) entity.description = given.description;
  if (given.decision) entity.detail = decisionDetails(given.decision);
  switch (given.role) {
    case 'query':
      entity.query = Buffer.from(given.reference, 'utf8').toString('base64');
      entity.role = use(OBJECT_ROLE.query, form);
      if (label) entity.securityLabel = use(label, form);
      entity.type = use(ENTITY_TYPE.systemObject, form);
      return entity;
    case 'consent':
      // BALP AuthZconsent tells its consent entity by resource type, not role; the data category does not label it.
      entity.type = { code: resourceTypeOf(given.reference), system: CodeSystems.resourceTypes };
      entity.what = { reference: given.reference };
      return entity;
    case 'data':
    case 'domain-resource':
    case undefined:
      entity.role = use(given.role === 'data' ? OBJECT_ROLE.report : OBJECT_ROLE.domainResource, form);
      if (label) entity.securityLabel = use(label, form);
      entity.type = use(ENTITY_TYPE.systemObject, form);
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

function requestEntity(exchange: ExchangeRecord, label: Fixed<Coding[]> | undefined, form: Form): AuditEventEntity {
  const detail: { type: string; valueString: string }[] = [];
  const add = (type: string, value: string | number | undefined) => {
    if (value === undefined) return;
    const text = String(value);
    const part = DETAIL.get(`${type} ${text}`);
    detail.push(part ? use(part, form) : { type, valueString: text });
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
        add('sent', trigger.sentAt);
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
  if (label) entity.securityLabel = use(label, form);
  entity.type = use(ENTITY_TYPE.requestId, form);
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
