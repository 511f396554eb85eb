/**
 * Other partnerships' hubs, as a hub's directory registers them (MA-L5, AP-L5).
 * Pure: the readers (services/alerts/peer-hubs.ts, services/plans/peer-plans.ts)
 * fetch the Endpoints the partnership Organization manages.
 *
 * A partnership that runs its own hub registers it as an Endpoint of connection
 * type `infoshare-hub`: `address` is the hub's alerts FHIR base, and the
 * `hub-public-jwk` extension pins the public key that hub signs with — what it
 * forwards (alerts) and what it asks for on its agencies' behalf (plans). Its
 * plans service is a second Endpoint, connection type `infoshare-hub-plans`,
 * `address` its plans FHIR base. Only the partnerships a hub is configured to
 * treat as peers (`INFOSHARE_PEER_HUBS`) count: an Endpoint alone never makes a
 * partnership a peer.
 */
import type { Endpoint } from 'fhir/r4.js';
import { agencyIdOf } from '../isp/contract.js';
import { CodeSystems, Extensions, HUB_CONNECTION_TYPE, HUB_PLANS_CONNECTION_TYPE } from './systems.js';

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
  const hubs = activeHubEndpoints(partnership, endpoints, HUB_CONNECTION_TYPE);
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

/** Where a partnership's hub serves plans: the address of its active `infoshare-hub-plans` Endpoint, or why there is none. */
export function peerPlansBaseOf(partnership: string, endpoints: readonly Endpoint[]): { readonly base: string; readonly endpoint: string } | PeerHubProblem {
  const found = activeHubEndpoints(partnership, endpoints, HUB_PLANS_CONNECTION_TYPE);
  if (found.length !== 1) return { partnership, problem: `${found.length} active ${HUB_PLANS_CONNECTION_TYPE} Endpoints managed by Organization/${partnership} (one is needed)` };
  const [endpoint] = found as [Endpoint];
  const base = httpBase(endpoint.address);
  return base ? { base, endpoint: `Endpoint/${endpoint.id ?? ''}` } : { partnership, problem: `Endpoint/${endpoint.id ?? ''} has no http(s) address` };
}

function activeHubEndpoints(partnership: string, endpoints: readonly Endpoint[], code: string): Endpoint[] {
  return endpoints.filter(
    (e) =>
      e.status === 'active' &&
      agencyIdOf(e.managingOrganization?.reference) === partnership &&
      e.connectionType.system === CodeSystems.endpointConnectionType &&
      e.connectionType.code === code,
  );
}
