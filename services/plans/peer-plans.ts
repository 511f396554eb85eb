/**
 * Plans across a partnership boundary when each partnership runs its own hub (AP-L5).
 *
 * A plan stays in the hub of the partnership that wrote it — where its Consents live
 * and the Named Person / Lead Professional grants and revokes them. An agency of
 * another partnership reads it **through its own hub**, which asks the author's hub
 * on its behalf:
 *
 *   reader's hub:  GET /fhir/CarePlan/$peer-read?partnership=<author's partnership>&id=<plan id>
 *                  → GET <author hub's plans base>/CarePlan/<id> with a hub-to-hub token
 *   author's hub:  verifies the token with the key ITS directory pins for the reader's hub,
 *                  then decides exactly as for any read: its own copy of the ISP, then consent
 *   reader's hub:  checks the flow against ITS OWN copy of the ISP before handing the plan over
 *
 * So both ISPs and the Consent must allow it, each side decides for itself, and a
 * revoked Consent bites on the next read (nothing is copied across the boundary to go
 * stale). The hub-to-hub token is an access token signed with the reader hub's own
 * signing key — the key the author's directory pins on the reader's `infoshare-hub`
 * Endpoint (shared/fhir/hub-endpoints.ts) — with `iss` the reader's partnership,
 * `aud` the author's, the acting agency (and practitioner role) as claims and the one
 * scope `system/CarePlan.read`, for one minute. An agency cannot mint one (it does not
 * hold the hub's key), so the reader's ISP check cannot be skipped by calling the
 * author's hub directly; and a peer hub speaks only for agencies of its own partnership.
 */
import type { RequestHandler } from 'express';
import { issueAccessToken, unverifiedKid, verifyAccessToken } from '../../shared/auth/access-token.js';
import { UnknownSigningKeyError } from '../../shared/auth/jwks-resolver.js';
import { keyObjectFromJwk, loadTokenSigningKey, type SigningKey } from '../../shared/auth/keys.js';
import { bearerToken, type AuthContext } from '../../shared/auth/middleware.js';
import { readScope, splitScopes } from '../../shared/auth/scopes.js';
import type { HubConfig, PartnershipConfig } from '../../shared/config.js';
import { describeExchange } from '../../shared/fhir/exchange-context.js';
import { isPeerHub, peerHubOf, peerPlansBaseOf, type PeerHub, type PeerHubProblem } from '../../shared/fhir/hub-endpoints.js';
import { forbidden, isOperationOutcomeError } from '../../shared/fhir/outcome.js';
import type { IspRegistry } from '../../shared/isp/registry.js';
import type { DirectoryView } from '../directory/view.js';

/** How long a hub-to-hub read token lives: one read, answered at once. */
const PEER_TOKEN_SECONDS = 60;

/** The one thing a peer hub may ask for on its agency's behalf. */
export const PEER_READ_SCOPE = readScope('CarePlan');

/** Where to read a peer partnership's plans: its hub's plans base, and the Endpoint that says so. */
export interface PeerPlansTarget {
  readonly partnership: string;
  readonly base: string;
  readonly endpoint: string;
}

/** Who a hub-to-hub read acts for: the reader hub's agency (and practitioner), as its own token named them. */
export interface PeerReader {
  readonly agency: string;
  readonly practitionerRole?: string;
}

export class PeerPlans {
  #signingKey: Promise<SigningKey> | undefined;

  constructor(
    private readonly directory: DirectoryView,
    private readonly isp: IspRegistry,
    private readonly partnership: PartnershipConfig,
    private readonly token: HubConfig['token'],
  ) {}

  /** Whether `partnership` is a configured peer (it runs a hub of its own). */
  isPeer(partnership: string): boolean {
    return this.partnership.peerHubs.includes(partnership);
  }

  /** The peer's plans base as this hub's directory registers it now, or why it cannot be used. */
  async target(partnership: string): Promise<PeerPlansTarget | PeerHubProblem> {
    const found = peerPlansBaseOf(partnership, await this.directory.endpointsOf(partnership));
    return 'base' in found ? { partnership, ...found } : found;
  }

  /** The token one read is sent with: signed by this hub, for the peer partnership, acting for `reader`. */
  async readToken(peerPartnership: string, reader: PeerReader): Promise<string> {
    this.#signingKey ??= loadTokenSigningKey(this.token);
    const issued = issueAccessToken(
      {
        clientId: `hub:${this.partnership.id}`,
        scopes: [PEER_READ_SCOPE],
        agency: reader.agency,
        partnership: this.partnership.id,
        ...(reader.practitionerRole ? { practitionerRole: reader.practitionerRole } : {}),
      },
      await this.#signingKey,
      { issuer: this.partnership.id, audience: peerPartnership, ttlSeconds: PEER_TOKEN_SECONDS },
    );
    return issued.token;
  }

  /**
   * `own` (this hub's token check) for every token but one signed with a key this
   * directory pins for a configured peer hub: that one is verified against the pin
   * (`iss` the peer partnership, `aud` this one), and must act for an agency of the
   * peer's own partnership (403 otherwise). The caller then goes through the same
   * access check as anyone.
   */
  authenticate(own: RequestHandler): RequestHandler {
    return async (req, res, next) => {
      let signer: PeerHub | undefined;
      try {
        const token = bearerToken(req.headers.authorization);
        const kid = token ? unverifiedKid(token) : undefined;
        signer = kid === undefined || this.partnership.peerHubs.length === 0 ? undefined : (await this.peerHubs()).find((h) => h.publicJwk.kid === kid);
        if (!signer) {
          own(req, res, next);
          return;
        }
        const hub = signer;
        const claims = await verifyAccessToken(
          token,
          async (k) => {
            if (k !== hub.publicJwk.kid) throw new UnknownSigningKeyError();
            return keyObjectFromJwk(hub.publicJwk);
          },
          { issuer: hub.partnership, audience: this.partnership.id, algorithms: this.token.algorithms },
        );
        describeExchange(res, { entities: [{ reference: hub.endpoint, role: 'data', description: `asked by ${hub.partnership}'s hub for its agency` }] });
        const agency = await this.isp.agency(claims.agency);
        if (claims.partnership !== hub.partnership || agency?.partnership !== hub.partnership) {
          throw forbidden(`${hub.partnership}'s hub asks only for agencies of ${hub.partnership}`);
        }
        const auth: AuthContext = { ...claims, scopes: splitScopes(claims.scope) };
        res.locals.auth = auth;
        next();
      } catch (err) {
        if (isOperationOutcomeError(err) && err.status === 401) res.setHeader('WWW-Authenticate', 'Bearer realm="infoshare", error="invalid_token"');
        next(err);
      }
    };
  }

  private async peerHubs(): Promise<PeerHub[]> {
    const hubs = await Promise.all(this.partnership.peerHubs.map(async (p) => peerHubOf(p, await this.directory.endpointsOf(p))));
    return hubs.filter(isPeerHub);
  }
}
