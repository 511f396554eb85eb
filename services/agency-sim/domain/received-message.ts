/**
 * What a simulated agency keeps of a delivered message: the message Bundle's
 * MessageHeader id (what deliveries are de-duplicated by), its event, the
 * per-agency delivery sequence number (so a gap shows) and its focus.
 */
import type { Bundle, Coding, FhirResource, MessageHeader } from 'fhir/r4.js';
import { Extensions } from '../../../shared/fhir/systems.js';

export interface MessageSummary {
  readonly messageId: string;
  /** MessageHeader.eventCoding (its system and code). */
  readonly event?: Pick<Coding, 'system' | 'code'>;
  /** The recipient's delivery sequence number (MessageHeader extension), when the hub set one. */
  readonly seq?: number;
  readonly focus?: readonly string[];
}

/** A summary of a message Bundle, or why it is not one (with the FHIRPath of the problem). */
export function messageSummaryOf(body: unknown): MessageSummary | { readonly problem: string; readonly expression: string } {
  const bundle = body as Partial<Bundle<FhirResource>> | null;
  if (typeof body !== 'object' || bundle === null || bundle.resourceType !== 'Bundle') return { problem: 'The body is not a Bundle', expression: 'Bundle' };
  if (bundle.type !== 'message') return { problem: 'The Bundle is not a message (type must be "message")', expression: 'Bundle.type' };
  const first = Array.isArray(bundle.entry) ? bundle.entry[0]?.resource : undefined;
  if (first?.resourceType !== 'MessageHeader') return { problem: 'The first entry of a message must be a MessageHeader', expression: 'Bundle.entry[0].resource' };
  const header: MessageHeader = first;
  if (typeof header.id !== 'string' || header.id.length === 0) return { problem: 'The MessageHeader has no id', expression: 'Bundle.entry[0].resource.id' };
  const seq = header.extension?.find((e) => e.url === Extensions.deliverySequence);
  const seqValue = seq?.valueUnsignedInt ?? seq?.valuePositiveInt ?? seq?.valueInteger;
  const focus = (header.focus ?? []).flatMap((f) => (typeof f.reference === 'string' ? [f.reference] : []));
  return {
    messageId: header.id,
    ...(header.eventCoding?.code ? { event: { ...(header.eventCoding.system ? { system: header.eventCoding.system } : {}), code: header.eventCoding.code } } : {}),
    ...(typeof seqValue === 'number' ? { seq: seqValue } : {}),
    ...(focus.length ? { focus } : {}),
  };
}

export function isMessageSummary(s: ReturnType<typeof messageSummaryOf>): s is MessageSummary {
  return 'messageId' in s;
}
