/**
 * The hubs of the partnerships this hub forwards to and takes forwarded
 * alerts from (MA-L5), read from the directory on every use (an Endpoint
 * changed or retired there counts at once), and the hub-to-hub token both
 * sides use.
 *
 * A forwarded message travels with a delivery token (shared/messaging/
 * delivery-token.ts) signed with this hub's own signing key — the key its
 * directory publishes and the peer's directory pins on this partnership's hub
 * Endpoint — with `iss` = this partnership, `aud` = `recipient` = the peer
 * partnership. The peer verifies it with the key *its* directory pins for the
 * hub that signed it (found by `kid` among its configured peers only), so a
 * message signed by any other key is refused before it is read.
 */
import { unverifiedKid } from '../../shared/auth/access-token.js';
import { keyObjectFromJwk, loadTokenSigningKey, type SigningKey } from '../../shared/auth/keys.js';
import { UnknownSigningKeyError, type KeyResolver } from '../../shared/auth/jwks-resolver.js';
import type { JtiStore } from '../../shared/auth/jti-store.js';
import type { HubConfig, PartnershipConfig } from '../../shared/config.js';
import { servesPartnership } from '../../shared/config.js';
import type { IspRegistry } from '../../shared/isp/registry.js';
import { rememberDeliveryToken, signDeliveryToken, verifyDeliveryToken, type DeliveryTokenClaims, type DeliveryTokenProblem } from '../../shared/messaging/delivery-token.js';
import type { DirectoryView } from '../directory/view.js';
import { forwardingUrlOf, isPeerHub, peerHubOf, type PeerHub, type PeerHubProblem } from './domain/peer-hubs.js';

/** Where one delivery goes when a peer hub serves the recipient agency. */
export interface ForwardingTarget {
  /** The peer partnership (the token's audience). */
  readonly partnership: string;
  /** `<peer alerts base>/$process-message`. */
  readonly url: string;
  /** The peer hub's alerts FHIR base (a re-drive is asked at `<base>/$redrive/<message id>`). */
  readonly base: string;
  /** The directory Endpoint naming that hub (`Endpoint/<id>`). */
  readonly endpoint: string;
  /** The token to send one attempt with (fresh each call): signed by this hub, for the peer hub, over `body`. */
  sign(messageId: string, body: string | Uint8Array): Promise<string>;
}

/** A configured peer partnership whose hub the directory does not (usably) register: retry until it does. */
export class PeerHubUnavailableError extends Error {
  constructor(readonly agencyId: string, readonly detail: PeerHubProblem) {
    super(`${agencyId} belongs to ${detail.partnership}, whose own hub serves it, but this hub cannot reach that hub: ${detail.problem}`);
    this.name = 'PeerHubUnavailableError';
  }
}

export type ForwardedTokenResult =
  | { readonly ok: true; readonly hub: PeerHub; readonly claims: DeliveryTokenClaims }
  | { readonly ok: false; readonly problem: DeliveryTokenProblem };

export class PeerHubs {
  #signingKey: Promise<SigningKey> | undefined;

  constructor(
    private readonly directory: DirectoryView,
    private readonly isp: IspRegistry,
    private readonly partnership: PartnershipConfig,
    private readonly token: HubConfig['token'],
    /** Remembers the ids of forwarded-message tokens (a replay is refused). */
    private readonly jtis: JtiStore,
  ) {}

  /** The partnership this hub serves. */
  get ownPartnership(): string {
    return this.partnership.id;
  }

  /** Each configured peer's hub as the directory registers it now, or why it cannot be used. */
  async hubs(): Promise<(PeerHub | PeerHubProblem)[]> {
    return Promise.all(this.partnership.peerHubs.map(async (p) => peerHubOf(p, await this.directory.endpointsOf(p))));
  }

  /**
   * Where a delivery to `agencyId` goes: undefined when this hub serves the
   * agency (its own Endpoint, as always), else the hub of its partnership.
   * Throws `PeerHubUnavailableError` (a retry, not a refusal) when that
   * partnership's hub is not usably registered in the directory.
   */
  async targetOf(agencyId: string): Promise<ForwardingTarget | undefined> {
    if (this.partnership.peerHubs.length === 0) return undefined;
    const agency = await this.isp.agency(agencyId);
    if (!agency || servesPartnership(this.partnership, agency.partnership)) return undefined;
    const partnership = agency.partnership ?? '';
    const hub = peerHubOf(partnership, await this.directory.endpointsOf(partnership));
    if (!isPeerHub(hub)) throw new PeerHubUnavailableError(agencyId, hub);
    return { partnership, url: forwardingUrlOf(hub), base: hub.alertsBase, endpoint: hub.endpoint, sign: (messageId, body) => this.forwardingToken(partnership, messageId, body) };
  }

  /** The token a forwarded message is sent with (one per attempt): signed by this hub (`iss` its partnership), for the peer's. */
  async forwardingToken(peerPartnership: string, messageId: string, body: string | Uint8Array): Promise<string> {
    this.#signingKey ??= loadTokenSigningKey(this.token);
    return signDeliveryToken({ messageId, recipient: peerPartnership, body }, await this.#signingKey, this.partnership.id).token;
  }

  /**
   * Checks the token of a message another hub forwarded here against the exact
   * body bytes: signed (ES256) with the key this directory pins for one of the
   * configured peer hubs, issued by that hub's partnership, addressed to this
   * partnership, unexpired, over this body. Which hub signed it comes back with
   * the claims; replay is the caller's check (`rememberDeliveryToken`).
   */
  async verifyForwarded(token: string | undefined, body: Uint8Array): Promise<ForwardedTokenResult> {
    const kid = token ? unverifiedKid(token) : undefined;
    const signer = kid === undefined ? undefined : (await this.hubs()).filter(isPeerHub).find((h) => h.publicJwk.kid === kid);
    const resolveKey: KeyResolver = async (k) => {
      if (!signer || k !== signer.publicJwk.kid) throw new UnknownSigningKeyError();
      return keyObjectFromJwk(signer.publicJwk);
    };
    // The issuer must be the partnership whose pinned key signed: a peer hub cannot speak for another partnership.
    const verdict = await verifyDeliveryToken(token, body, resolveKey, { issuer: signer?.partnership ?? '', recipient: this.partnership.id });
    if (!verdict.ok) return verdict;
    if (!signer) return { ok: false, problem: 'unknown-signing-key' };
    return { ok: true, hub: signer, claims: verdict.claims };
  }

  /** True the first time a forwarded message's token is seen, false for a replay (remembered until it expires). */
  rememberForwarded(claims: DeliveryTokenClaims): Promise<boolean> {
    return rememberDeliveryToken(this.jtis, claims);
  }
}
