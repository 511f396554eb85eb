/**
 * FHIR response messages: how a receiver answers a message (FHIR R4 messaging,
 * as MedCom acknowledges every message): a `message` Bundle whose MessageHeader
 * carries `response` — the request's MessageHeader.id and a code `ok`,
 * `transient-error` (try again later) or `fatal-error` (never send this again)
 * — and optionally an OperationOutcome with details.
 *
 * Used both ways: agency systems answer the hub's deliveries with one (and
 * pull agencies post one to acknowledge what they pulled), and the hub answers
 * a raised alert with one. A response message is recognised by
 * `MessageHeader.response` being present (`isResponseMessage`).
 */
import { randomUUID } from 'node:crypto';
import type { Bundle, BundleEntry, Coding, FhirResource, MessageHeader, OperationOutcome } from 'fhir/r4.js';
import { informational, outcome } from '../fhir/outcome.js';
import { CodeSystems } from '../fhir/systems.js';

export const RESPONSE_CODES = ['ok', 'transient-error', 'fatal-error'] as const;
export type ResponseCode = (typeof RESPONSE_CODES)[number];

/**
 * One side of a message: an agency (Organization id, MessageHeader.sender /
 * destination.receiver) and/or an endpoint URL. A plain string is an agency id,
 * whose endpoint is written `Organization/<id>` (as the alerts contract names
 * message sources).
 */
export type MessageParty = string | { readonly agency?: string; readonly endpoint?: string; readonly name?: string };

export interface ResponseMessageInput {
  /** The MessageHeader.id of the message answered. */
  readonly requestHeaderId: string;
  readonly code: ResponseCode;
  /** Who answers. */
  readonly source: MessageParty;
  /** Who is answered (the sender of the request). */
  readonly destination?: MessageParty;
  /** Why: a text (an information issue for `ok`, an error otherwise) or a whole OperationOutcome. */
  readonly details?: string | OperationOutcome;
  /** The event of the message answered (FHIR: a response carries its request's event); default `response`. */
  readonly event?: Coding;
  /** Default: a fresh UUID. */
  readonly id?: string;
  /** Default: now. */
  readonly timestamp?: string;
}

/** The event of a response when the request's event is not given. */
export const RESPONSE_EVENT: Coding = { system: CodeSystems.alertEvent, code: 'response' };

export function buildResponseMessage(input: ResponseMessageInput): Bundle {
  const headerId = input.id ?? randomUUID();
  const details = detailsOutcome(input);
  const detailsId = randomUUID();
  const source = party(input.source);
  const header: MessageHeader = {
    resourceType: 'MessageHeader',
    id: headerId,
    eventCoding: input.event ?? RESPONSE_EVENT,
    source: { endpoint: source.endpoint, ...(source.name ? { name: source.name } : {}) },
    ...(source.agency ? { sender: { reference: `Organization/${source.agency}` } } : {}),
    ...(input.destination ? { destination: [destinationOf(party(input.destination))] } : {}),
    response: {
      identifier: input.requestHeaderId,
      code: input.code,
      ...(details ? { details: { reference: `urn:uuid:${detailsId}` } } : {}),
    },
  };
  const entry: BundleEntry[] = [{ fullUrl: `urn:uuid:${headerId}`, resource: header }];
  if (details) entry.push({ fullUrl: `urn:uuid:${detailsId}`, resource: { ...details, id: detailsId } });
  return {
    resourceType: 'Bundle',
    id: randomUUID(),
    type: 'message',
    timestamp: input.timestamp ?? new Date().toISOString(),
    entry,
  };
}

function detailsOutcome(input: ResponseMessageInput): OperationOutcome | undefined {
  if (input.details === undefined) return undefined;
  if (typeof input.details !== 'string') return input.details;
  return input.code === 'ok'
    ? informational(input.details)
    : outcome(input.code === 'transient-error' ? 'transient' : 'processing', input.details);
}

function party(p: MessageParty): { agency?: string; endpoint: string; name?: string } {
  if (typeof p === 'string') return { agency: p, endpoint: `Organization/${p}` };
  const endpoint = p.endpoint ?? (p.agency ? `Organization/${p.agency}` : undefined);
  if (!endpoint) throw new Error('A message party needs an agency or an endpoint');
  return { ...(p.agency ? { agency: p.agency } : {}), endpoint, ...(p.name ? { name: p.name } : {}) };
}

function destinationOf(p: { agency?: string; endpoint: string; name?: string }): NonNullable<MessageHeader['destination']>[number] {
  return {
    endpoint: p.endpoint,
    ...(p.name ? { name: p.name } : {}),
    ...(p.agency ? { receiver: { reference: `Organization/${p.agency}` } } : {}),
  };
}

export interface ParsedResponseMessage {
  /** The response's own MessageHeader.id. */
  readonly headerId: string | undefined;
  /** The MessageHeader.id of the message answered. */
  readonly requestHeaderId: string;
  readonly code: ResponseCode;
  /** The answering agency, from MessageHeader.sender (or a `Organization/<id>` source endpoint). */
  readonly sourceAgency?: string;
  /** The answered agency, from the first destination's receiver. */
  readonly destinationAgency?: string;
  readonly details?: OperationOutcome;
}

/** Why a Bundle is not a usable response message, with the FHIRPath of what is wrong. */
export interface ResponseMessageProblem {
  readonly problem: string;
  readonly expression: string;
}

export function isResponseMessageProblem(r: ParsedResponseMessage | ResponseMessageProblem): r is ResponseMessageProblem {
  return 'problem' in r;
}

/** The first entry's MessageHeader of a message Bundle, if it is one. */
function headerOf(bundle: unknown): MessageHeader | undefined {
  if (typeof bundle !== 'object' || bundle === null) return undefined;
  const b = bundle as Partial<Bundle<FhirResource>>;
  if (b.resourceType !== 'Bundle' || b.type !== 'message' || !Array.isArray(b.entry)) return undefined;
  const first = b.entry[0]?.resource;
  return first?.resourceType === 'MessageHeader' ? first : undefined;
}

/** Whether a body is a response message (a message Bundle whose MessageHeader has `response`), as opposed to a new message. */
export function isResponseMessage(bundle: unknown): boolean {
  const response = headerOf(bundle)?.response;
  return typeof response === 'object' && response !== null;
}

const ORGANIZATION_REF = /^Organization\/([A-Za-z0-9\-.]{1,64})$/;

/** Reads a response message; a Bundle that is not one gives a problem naming what is wrong, never a throw. */
export function parseResponseMessage(bundle: unknown): ParsedResponseMessage | ResponseMessageProblem {
  if (typeof bundle !== 'object' || bundle === null || (bundle as { resourceType?: unknown }).resourceType !== 'Bundle') {
    return { problem: 'Not a Bundle', expression: 'Bundle' };
  }
  const b = bundle as Partial<Bundle<FhirResource>>;
  if (b.type !== 'message') return { problem: 'Not a message Bundle (type must be "message")', expression: 'Bundle.type' };
  const header = headerOf(bundle);
  if (!header) return { problem: 'The first entry of a message must be a MessageHeader', expression: 'Bundle.entry[0].resource' };
  const response = header.response as Partial<NonNullable<MessageHeader['response']>> | undefined;
  if (typeof response !== 'object' || response === null) {
    return { problem: 'Not a response message (MessageHeader.response is missing)', expression: 'Bundle.entry[0].resource.response' };
  }
  const { identifier, code } = response;
  if (typeof identifier !== 'string' || identifier.length === 0) {
    return { problem: 'MessageHeader.response.identifier must name the message answered', expression: 'Bundle.entry[0].resource.response.identifier' };
  }
  if (!(RESPONSE_CODES as readonly unknown[]).includes(code)) {
    return { problem: `MessageHeader.response.code must be one of ${RESPONSE_CODES.join(', ')}`, expression: 'Bundle.entry[0].resource.response.code' };
  }
  const detailsRef = response.details?.reference;
  let details: OperationOutcome | undefined;
  if (detailsRef !== undefined) {
    const found = b.entry?.find((e) => e.fullUrl === detailsRef || (e.resource && `${e.resource.resourceType}/${e.resource.id}` === detailsRef))?.resource;
    if (found?.resourceType !== 'OperationOutcome') {
      return { problem: 'MessageHeader.response.details must reference an OperationOutcome in the Bundle', expression: 'Bundle.entry[0].resource.response.details' };
    }
    details = found;
  }
  const sourceAgency = agencyOf(header.sender?.reference) ?? agencyOf(header.source?.endpoint);
  const destinationAgency = agencyOf(header.destination?.[0]?.receiver?.reference) ?? agencyOf(header.destination?.[0]?.endpoint);
  return {
    headerId: header.id,
    requestHeaderId: identifier,
    code: code as ResponseCode,
    ...(sourceAgency ? { sourceAgency } : {}),
    ...(destinationAgency ? { destinationAgency } : {}),
    ...(details ? { details } : {}),
  };
}

function agencyOf(ref: unknown): string | undefined {
  return typeof ref === 'string' ? ORGANIZATION_REF.exec(ref)?.[1] : undefined;
}
