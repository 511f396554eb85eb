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
import type { Bundle, Endpoint, MessageHeader } from 'fhir/r4.js';
import { CodeSystems, Extensions, HUB_CONNECTION_TYPE } from '../../../shared/fhir/systems.js';
import { agencyIdOf } from '../../../shared/isp/contract.js';
import { flagIdOf, messageIdOf } from './ids.js';

export interface PeerHub {
  /** The partnership (Organization id) whose hub it is. */
  readonly partnership: string;
  /** Its alerts FHIR base, without a trailing slash. */
  readonly alertsBase: string;
  /** The public key it signs forwarded messages with, as pinned in the directory (JWK with `kid`). */
  readonly publicJwk: Readonly<Record<string, unknown>> & { readonly kid: string };
  /** The Endpoint that says so (`Endpoint/<id>`), for the audit record. */
  readonly endpoint: string;
}

/** Why a configured peer partnership has no usable hub in the directory. */
export interface PeerHubProblem {
  readonly partnership: string;
  readonly problem: string;
}

/**
 * The peer hub `partnership` registers among `endpoints` (the Endpoints its
 * Organization manages): the active `infoshare-hub` Endpoint with an http(s)
 * address and a readable pinned key, or why there is none.
 */
export function peerHubOf(partnership: string, endpoints: readonly Endpoint[]): PeerHub | PeerHubProblem {
  const hubs = endpoints.filter(
    (e) =>
      e.status === 'active' &&
      agencyIdOf(e.managingOrganization?.reference) === partnership &&
      e.connectionType.system === CodeSystems.endpointConnectionType &&
      e.connectionType.code === HUB_CONNECTION_TYPE,
  );
  if (hubs.length === 0) return { partnership, problem: `no active ${HUB_CONNECTION_TYPE} Endpoint managed by Organization/${partnership}` };
  if (hubs.length > 1) return { partnership, problem: `${hubs.length} active ${HUB_CONNECTION_TYPE} Endpoints for Organization/${partnership}: which hub is meant is unclear` };
  const [hub] = hubs as [Endpoint];
  const alertsBase = httpBase(hub.address);
  if (!alertsBase) return { partnership, problem: `Endpoint/${hub.id ?? ''} has no http(s) address` };
  const publicJwk = pinnedKeyOf(hub);
  if (!publicJwk) return { partnership, problem: `Endpoint/${hub.id ?? ''} pins no readable public key (${Extensions.hubPublicJwk})` };
  return { partnership, alertsBase, publicJwk, endpoint: `Endpoint/${hub.id ?? ''}` };
}

export function isPeerHub(value: PeerHub | PeerHubProblem): value is PeerHub {
  return 'alertsBase' in value;
}

/** Where a forwarded message is posted at a peer hub. */
export function forwardingUrlOf(hub: PeerHub): string {
  return `${hub.alertsBase}/$process-message`;
}

function httpBase(address: string | undefined): string | undefined {
  if (!address) return undefined;
  try {
    const url = new URL(address);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') return undefined;
  } catch {
    return undefined;
  }
  return address.replace(/\/+$/, '');
}

function pinnedKeyOf(endpoint: Endpoint): PeerHub['publicJwk'] | undefined {
  const text = endpoint.extension?.find((e) => e.url === Extensions.hubPublicJwk)?.valueString;
  if (!text) return undefined;
  try {
    const parsed: unknown = JSON.parse(text);
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return undefined;
    const kid = (parsed as { kid?: unknown }).kid;
    return typeof kid === 'string' && kid !== '' ? { ...(parsed as Record<string, unknown>), kid } : undefined;
  } catch {
    return undefined;
  }
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
