/**
 * The message as the hub holds it once accepted: the sender's alert with the
 * hub's ids (message, Flag), the subject as the index knows it, and the NP/LP
 * CareTeam (the sender's, or the directory's when the hub filled it in). Each
 * recipient gets a cut of it (minimise.ts). Pure.
 */
import type { Bundle, BundleEntry, CareTeam, Coding, Flag, MessageHeader, Patient, Provenance, Resource } from 'fhir/r4.js';
import { CodeSystems } from '../../../shared/fhir/systems.js';
import type { DeliveredEvent } from './categories.js';

export interface HubMessageParts {
  readonly messageId: string;
  readonly event: DeliveredEvent;
  readonly senderAgency: string;
  /** The alerts service's FHIR base (`http://localhost:4002/fhir`): the message's source. */
  readonly baseUrl: string;
  readonly timestamp: string;
  readonly flag: Flag;
  readonly patient: Patient;
  readonly careTeam?: CareTeam;
  readonly provenance?: Provenance;
}

export function eventCoding(event: DeliveredEvent): Coding {
  return { system: CodeSystems.alertEvent, code: event };
}

/** The hub's message Bundle: MessageHeader (id = the hub's message id), Flag, Patient, CareTeam, Provenance. */
export function hubMessage(parts: HubMessageParts): Bundle {
  const header: MessageHeader = {
    resourceType: 'MessageHeader',
    id: parts.messageId,
    eventCoding: eventCoding(parts.event),
    source: { name: 'infoshare alerts hub', endpoint: parts.baseUrl },
    sender: { reference: `Organization/${parts.senderAgency}` },
    focus: [{ reference: `Flag/${parts.flag.id ?? ''}` }],
  };
  const resources: Resource[] = [header, parts.flag, parts.patient, ...(parts.careTeam ? [parts.careTeam] : []), ...(parts.provenance ? [parts.provenance] : [])];
  return messageBundle(parts.messageId, parts.timestamp, parts.baseUrl, resources);
}

/** A message Bundle the hub writes (its id the MessageHeader's), each resource's fullUrl under the alerts service's base. */
export function messageBundle(messageId: string, timestamp: string, baseUrl: string, resources: readonly Resource[]): Bundle {
  return {
    resourceType: 'Bundle',
    id: messageId,
    type: 'message',
    timestamp,
    entry: resources.map((resource): BundleEntry => ({ fullUrl: `${baseUrl}/${resource.resourceType}/${resource.id ?? ''}`, resource })),
  };
}

/** The resources of a hub message by type (the first of each). */
export function partsOf(bundle: Bundle): { header?: MessageHeader; flag?: Flag; patient?: Patient; careTeam?: CareTeam; provenance?: Provenance } {
  const first = <T extends Resource>(type: T['resourceType']) => bundle.entry?.find((e) => e.resource?.resourceType === type)?.resource as T | undefined;
  return {
    header: first<MessageHeader>('MessageHeader'),
    flag: first<Flag>('Flag'),
    patient: first<Patient>('Patient'),
    careTeam: first<CareTeam>('CareTeam'),
    provenance: first<Provenance>('Provenance'),
  };
}
