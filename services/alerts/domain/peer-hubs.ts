/**
 * Other partnerships' hubs, as this hub's directory describes them (MA-L5).
 * Pure: the reader (services/alerts/peer-hubs.ts) fetches the Endpoints.
 *
 * A partnership that runs its own hub registers it as an Endpoint its
 * partnership Organization manages, connection type `infoshare-hub`: `address`
 * is the hub's alerts FHIR base (forwarded messages go to
 * `<address>/$process-message`), and the `hub-public-jwk` extension pins the
 * public key that hub signs forwarded messages with. Only the partnerships the
 * hub is configured to treat as peers (`INFOSHARE_PEER_HUBS`) count: an
 * Endpoint alone never makes a partnership a peer.
 */
import { createHash } from 'node:crypto';
import type { Bundle, MessageHeader } from 'fhir/r4.js';
import type { PeerHub } from '../../../shared/fhir/hub-endpoints.js';
import { flagIdOf, messageIdOf } from './ids.js';

// Reading a partnership's hub Endpoint is shared with the plans service (cross-partnership plan reads).
export { isPeerHub, peerHubOf, type PeerHub, type PeerHubProblem } from '../../../shared/fhir/hub-endpoints.js';

/** Where a forwarded message is posted at a peer hub. */
export function forwardingUrlOf(hub: PeerHub): string {
  return `${hub.alertsBase}/$process-message`;
}

/**
 * At a peer hub, one forwarded alert is one local message per (origin
 * partnership, origin message, recipients): the origin forwards each recipient
 * its own delivery, and a retry of one names the same message (idempotent).
 */
export function forwardedMessageIdOf(originPartnership: string, senderAgency: string, headerId: string, recipients: readonly string[]): string {
  return messageIdOf(senderAgency, `forwarded|${originPartnership}|${headerId}|${[...recipients].sort().join(',')}`);
}

/** The local alert (Flag) a forwarded alert becomes, per recipient set: its updates and close find it again. */
export function forwardedFlagIdOf(originPartnership: string, senderAgency: string, originFlagId: string, recipients: readonly string[]): string {
  return flagIdOf(senderAgency, `forwarded|${originPartnership}|${originFlagId}|${[...recipients].sort().join(',')}`);
}

/** A stable subject id for a forwarded alert about someone this partnership's index does not know (yet). */
export function forwardedSubjectIdOf(originPartnership: string, originSubject: string): string {
  return `ext-${createHash('sha256').update(`${originPartnership}\u0000${originSubject}`).digest('base64url').replace(/_/g, '-').slice(0, 32)}`;
}

/**
 * A forwarded message read as the alert message it carries: the origin hub's
 * cut of the alert names its sender agency in `MessageHeader.sender` and the
 * origin hub itself in `source.endpoint` (a URL, not an agency), so the sender
 * is the agency and the source is left aside. Everything else is as sent.
 */
export function asAgencyMessage(bundle: Bundle): Bundle {
  const [first, ...rest] = bundle.entry ?? [];
  if (first?.resource?.resourceType !== 'MessageHeader') return bundle;
  const header = first.resource as MessageHeader;
  if (!header.sender?.reference) return bundle;
  const asSent: MessageHeader = { ...header, source: { ...header.source, endpoint: header.sender.reference } };
  return { ...bundle, entry: [{ ...first, resource: asSent }, ...rest] };
}
