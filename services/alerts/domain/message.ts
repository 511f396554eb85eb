/**
 * Reads an alert message — a FHIR `message` Bundle posted to `$process-message`
 * — into what the hub reasons about, or refuses it with an OperationOutcome
 * that names the offending element. Pure: R4 validation of the Bundle happens
 * before (operations/process-message.ts), agencies, the MPI and the ISP after.
 *
 * The message (README "Alerts"):
 *   entry[0]  MessageHeader: eventCoding `CodeSystems.alertEvent` alert-raised | alert-updated | alert-closed;
 *             `sender` and/or `source.endpoint` = `Organization/<sender agency>`; `focus` → the Flag;
 *             optional `destination[].receiver` = `Organization/<agency>` (narrows the ISP's routing).
 *   Flag      the alert: `id` (the sender's own id for it), `status`, one `category` coding in
 *             `CodeSystems.alertCategory`, `code`, `period`, `subject` → the Patient entry.
 *   Patient   the subject: the sender's own identifier for the person, or the CHI.
 *   CareTeam  the Named Person / Lead Professional: participants with role named-person or
 *             lead-professional (`CodeSystems.careTeamRole`), each with a name (`member.display`) and an
 *             organisation (`onBehalfOf`, or the team's `managingOrganization`); the team's `telecom`.
 *   Provenance (optional) who recorded the alert.
 */
import type { Bundle, BundleEntry, CareTeam, Flag, MessageHeader, Patient, Provenance, Reference, Resource } from 'fhir/r4.js';
import { badRequest, invalidResource, unprocessable } from '../../../shared/fhir/outcome.js';
import { CodeSystems, IdentifierSystems } from '../../../shared/fhir/systems.js';
import { isJsonObject } from '../../../shared/json-object.js';
import { isAlertCategory, isAlertEvent, type AlertCategory, type AlertEvent } from './categories.js';

/** Resource types an alert message may carry beside its MessageHeader. */
const ENTRY_TYPES = ['Flag', 'Patient', 'CareTeam', 'Provenance'] as const;

/** At most this many entries: a header, the alert, its subject, its NP/LP, a provenance — with room to spare. */
export const MAX_ENTRIES = 20;

export const NAMED_PROFESSIONAL_ROLES = ['named-person', 'lead-professional'] as const;
export type NamedProfessionalRole = (typeof NAMED_PROFESSIONAL_ROLES)[number];

/** One Named Person / Lead Professional as an alert carries them (PD-L4). */
export interface NamedProfessionalDetails {
  readonly role: NamedProfessionalRole;
  readonly name: string;
  /** `Organization/<agency id>` when the organisation is a reference, else its display. */
  readonly organisation: string;
}

/** What an alert message says, once read. */
export interface AlertMessage {
  /** MessageHeader.id: the sender's id for this message (idempotency: one message per sender and id). */
  readonly headerId: string;
  readonly event: AlertEvent;
  /** The agency the message says it comes from (checked against the token by the caller). */
  readonly senderAgency: string;
  /** Agencies named in MessageHeader.destination (undefined: none named, route to all the ISP allows). */
  readonly destinations?: readonly string[];
  readonly flag: Flag;
  /** The sender's id of the alert (Flag.id): an update or close names the same one. */
  readonly flagLocalId: string;
  readonly category: AlertCategory;
  readonly patient: Patient;
  /** The CareTeam naming the NP/LP, when one with complete details came with the message. */
  readonly careTeam?: CareTeam;
  /** Why the message's NP/LP details are not enough (absent when they are). */
  readonly npLpProblem?: string;
  readonly provenance?: Provenance;
}

/** The identifier the subject is resolved by: the sender's own for the person, else the CHI. */
export type SubjectKey = { readonly kind: 'agency'; readonly system: string; readonly value: string } | { readonly kind: 'chi'; readonly value: string };

/**
 * Does the body present itself as a response message (an acknowledgement): a first entry that is a
 * MessageHeader carrying `response`? Nothing is checked beyond that and nothing thrown — an
 * acknowledgement needs no write scope, so this tells, before any check of the shape, whether the
 * caller must be allowed to raise alerts at all (`messageKindOf` then checks the shape).
 */
export function claimsToBeResponse(body: unknown): boolean {
  if (!isJsonObject(body) || !Array.isArray(body.entry)) return false;
  const first: unknown = body.entry[0];
  const header = isJsonObject(first) ? first.resource : undefined;
  return isJsonObject(header) && header.resourceType === 'MessageHeader' && header.response !== undefined && header.response !== null;
}

/** Is this a message Bundle at all, and is it a response message (an acknowledgement)? Throws 400 when it is not a message. */
export function messageKindOf(body: unknown): 'response' | 'request' {
  const bundle = body as Partial<Bundle> | undefined;
  if (typeof bundle !== 'object' || bundle === null || Array.isArray(bundle) || bundle.resourceType !== 'Bundle') {
    throw badRequest('$process-message takes a FHIR Bundle of type "message"', 'Bundle');
  }
  if (bundle.type !== 'message') throw badRequest(`$process-message takes a Bundle of type "message", not "${String(bundle.type)}"`, 'Bundle.type');
  const header = Array.isArray(bundle.entry) ? (bundle.entry[0])?.resource : undefined;
  if (header?.resourceType !== 'MessageHeader') throw badRequest('A message Bundle starts with its MessageHeader (entry[0])', 'Bundle.entry[0].resource');
  return (header as MessageHeader).response ? 'response' : 'request';
}

/**
 * The agencies a message's first entry (its MessageHeader) says it comes from — `sender.reference` and
 * `source.endpoint` where they name one as `Organization/<id>` — read from the body as received, before it
 * is validated: a message claiming another sender than the token's agency is refused (403) before its shape
 * is judged, as every other 403 is. What does not name an agency is left to `parseAlertMessage` (422).
 */
export function claimedSendersOf(body: unknown): string[] {
  if (!isJsonObject(body) || !Array.isArray(body.entry)) return [];
  const first: unknown = body.entry[0];
  const header = isJsonObject(first) ? first.resource : undefined;
  if (!isJsonObject(header)) return [];
  const sender = isJsonObject(header.sender) ? header.sender.reference : undefined;
  const source = isJsonObject(header.source) ? header.source.endpoint : undefined;
  return [sender, source].flatMap((r) => {
    const id = typeof r === 'string' ? organizationIdOf(r) : undefined;
    return id === undefined ? [] : [id];
  });
}

/** Reads a valid R4 message Bundle as an alert message; throws a 400/422 OperationOutcomeError saying what is wrong. */
export function parseAlertMessage(bundle: Bundle): AlertMessage {
  messageKindOf(bundle);
  const entries = bundle.entry ?? [];
  if (entries.length > MAX_ENTRIES) throw unprocessable(`An alert message carries at most ${MAX_ENTRIES} entries (this one has ${entries.length})`, 'Bundle.entry');
  const header = entries[0]!.resource as MessageHeader;
  if (!header.id) throw invalidResource('MessageHeader.id is required: it identifies the message (a re-sent message with the same id is the same message)', 'Bundle.entry[0].resource.id');

  entries.slice(1).forEach((entry, i) => {
    const type = entry.resource?.resourceType;
    if (!(ENTRY_TYPES as readonly (string | undefined)[]).includes(type)) {
      throw unprocessable(`An alert message carries only ${ENTRY_TYPES.join(', ')} beside its MessageHeader; entry[${i + 1}] is ${type ?? 'empty'}`, `Bundle.entry[${i + 1}]`);
    }
  });

  const event = header.eventCoding;
  if (event?.system !== CodeSystems.alertEvent || !isAlertEvent(event.code)) {
    throw unprocessable(`MessageHeader.eventCoding must be ${CodeSystems.alertEvent} alert-raised, alert-updated or alert-closed`, 'Bundle.entry[0].resource.eventCoding');
  }
  const senderAgency = senderOf(header);
  const destinations = destinationsOf(header);

  const focus = header.focus?.[0]?.reference;
  if (!focus) throw unprocessable('MessageHeader.focus must reference the Flag the message is about', 'Bundle.entry[0].resource.focus');
  if ((header.focus?.length ?? 0) > 1) throw unprocessable('An alert message is about one Flag: MessageHeader.focus has one reference', 'Bundle.entry[0].resource.focus');
  const flagEntry = resolveEntry(entries, focus);
  if (!flagEntry) throw unprocessable(`MessageHeader.focus ${focus} is not in the Bundle`, 'Bundle.entry[0].resource.focus[0]');
  if (flagEntry.resource.resourceType !== 'Flag') throw unprocessable(`MessageHeader.focus must be a Flag, not a ${flagEntry.resource.resourceType}`, 'Bundle.entry[0].resource.focus[0]');
  const flag = flagEntry.resource as Flag;
  const at = `Bundle.entry[${flagEntry.index}].resource`;
  if (!flag.id) throw unprocessable("Flag.id is required: it is the sender's id for the alert, which an update or close names again", `${at}.id`);
  const category = categoryOf(flag, at);

  const subject = flag.subject?.reference;
  if (!subject) throw unprocessable('Flag.subject must reference the Patient the alert is about', `${at}.subject`);
  const patientEntry = resolveEntry(entries, subject);
  if (!patientEntry || patientEntry.resource.resourceType !== 'Patient') {
    throw unprocessable(`Flag.subject ${subject} must be a Patient entry of the Bundle`, `${at}.subject`);
  }

  const careTeams = entries.flatMap((e) => (e.resource?.resourceType === 'CareTeam' ? [e.resource as CareTeam] : []));
  const named = careTeams.find((team) => namedProfessionalsIn(team).length > 0);
  const npLpProblem = named ? npLpProblemOf(named) : 'the message names no Named Person or Lead Professional (a CareTeam participant with role named-person or lead-professional)';
  const provenance = entries.find((e) => e.resource?.resourceType === 'Provenance')?.resource as Provenance | undefined;

  return {
    headerId: header.id,
    event: event.code,
    senderAgency,
    ...(destinations ? { destinations } : {}),
    flag,
    flagLocalId: flag.id,
    category,
    patient: patientEntry.resource as Patient,
    ...(named && !npLpProblem ? { careTeam: named } : {}),
    ...(npLpProblem ? { npLpProblem } : {}),
    ...(provenance ? { provenance } : {}),
  };
}

/** The subject's identifiers to resolve, in order: the sender's own (`senderSystem`) if the Patient carries it, then the CHI. */
export function subjectKeysOf(patient: Patient, senderSystem: string): SubjectKey[] {
  const keys: SubjectKey[] = [];
  const own = patient.identifier?.find((i) => i.system === senderSystem && i.value);
  if (own?.value) keys.push({ kind: 'agency', system: senderSystem, value: own.value });
  const chi = patient.identifier?.find((i) => i.system === IdentifierSystems.chi && i.value);
  if (chi?.value) keys.push({ kind: 'chi', value: chi.value });
  return keys;
}

/** The NP/LP a CareTeam names (current or not: the sender vouches for them), with their details. */
export function namedProfessionalsIn(team: CareTeam): NamedProfessionalDetails[] {
  return (team.participant ?? []).flatMap((p): NamedProfessionalDetails[] => {
    const role = p.role?.flatMap((r) => r.coding ?? []).find((c) => c.system === CodeSystems.careTeamRole && (NAMED_PROFESSIONAL_ROLES as readonly unknown[]).includes(c.code))?.code as
      | NamedProfessionalRole
      | undefined;
    if (!role) return [];
    const organisation = organisationOf(p.onBehalfOf) ?? organisationOf(team.managingOrganization?.[0]) ?? '';
    return [{ role, name: p.member?.display?.trim() ?? '', organisation }];
  });
}

/** Why a CareTeam's NP/LP details are incomplete (PD-L4: name, organisation and a way to reach them), or undefined. */
export function npLpProblemOf(team: CareTeam): string | undefined {
  const named = namedProfessionalsIn(team);
  if (named.length === 0) return 'the CareTeam names no Named Person or Lead Professional';
  const problems: string[] = [];
  for (const p of named) {
    if (!p.name) problems.push(`the ${p.role} has no name (participant.member.display)`);
    if (!p.organisation) problems.push(`the ${p.role} has no organisation (participant.onBehalfOf or CareTeam.managingOrganization)`);
  }
  if (!(team.telecom ?? []).some((t) => t.value)) problems.push('the CareTeam has no telecom to reach them');
  return problems.length ? problems.join('; ') : undefined;
}

/** The agency ids of the NP/LP's organisations (those given as `Organization/<id>` references). */
export function npLpAgenciesOf(team: CareTeam): string[] {
  const ids = namedProfessionalsIn(team).flatMap((p) => (p.organisation.startsWith('Organization/') ? [p.organisation.slice('Organization/'.length)] : []));
  return [...new Set(ids)];
}

function organisationOf(ref: Reference | undefined): string | undefined {
  if (ref?.reference?.startsWith('Organization/')) return ref.reference;
  return ref?.display?.trim() || undefined;
}

/** `Organization/<id>` → id; anything else undefined. */
export function organizationIdOf(reference: string | undefined): string | undefined {
  const m = /^(?:.*\/)?Organization\/([A-Za-z0-9\-.]{1,64})$/.exec(reference ?? '');
  return m?.[1];
}

function senderOf(header: MessageHeader): string {
  const fromSender = header.sender?.reference;
  const fromSource = header.source?.endpoint;
  const agencies = [fromSender, fromSource].filter((r): r is string => r !== undefined).map((r) => ({ r, id: organizationIdOf(r) }));
  const unreadable = agencies.find((a) => a.id === undefined);
  if (agencies.length === 0) {
    throw unprocessable('MessageHeader.sender (or source.endpoint) must name the sending agency as Organization/<agency id>', 'Bundle.entry[0].resource.sender');
  }
  if (unreadable) throw unprocessable(`"${unreadable.r}" does not name an agency: write Organization/<agency id>`, 'Bundle.entry[0].resource.sender');
  const ids = new Set(agencies.map((a) => a.id));
  if (ids.size > 1) throw unprocessable(`MessageHeader.sender and source.endpoint name different agencies (${[...ids].join(', ')})`, 'Bundle.entry[0].resource.sender');
  return agencies[0]!.id!;
}

function destinationsOf(header: MessageHeader): string[] | undefined {
  if (!header.destination?.length) return undefined;
  return header.destination.map((d, i) => {
    const ref = d.receiver?.reference ?? d.endpoint;
    const id = organizationIdOf(ref);
    if (!id) throw unprocessable(`MessageHeader.destination[${i}] must name an agency: receiver Organization/<agency id>`, `Bundle.entry[0].resource.destination[${i}].receiver`);
    return id;
  });
}

function categoryOf(flag: Flag, at: string): AlertCategory {
  const codes = (flag.category ?? []).flatMap((c) => c.coding ?? []).filter((c) => c.system === CodeSystems.alertCategory);
  if (codes.length !== 1) {
    throw unprocessable(`Flag.category must carry exactly one ${CodeSystems.alertCategory} coding (found ${codes.length})`, `${at}.category`);
  }
  const code = codes[0]!.code;
  if (!isAlertCategory(code)) throw unprocessable(`"${String(code)}" is not an alert category`, `${at}.category`);
  return code;
}

/** The entry a reference names: by fullUrl, or by `<type>/<id>` (also as the end of an absolute fullUrl). */
function resolveEntry(entries: readonly BundleEntry[], reference: string): { index: number; resource: Resource } | undefined {
  for (const [index, entry] of entries.entries()) {
    const resource = entry.resource;
    if (!resource) continue;
    const local = resource.id ? `${resource.resourceType}/${resource.id}` : undefined;
    if (entry.fullUrl === reference || (local !== undefined && (reference === local || entry.fullUrl?.endsWith(`/${reference}`)))) return { index, resource };
  }
  return undefined;
}

