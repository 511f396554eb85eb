/**
 * What every request another partnership's hub sends here goes through first (MA-L5): a forwarded alert, the
 * dead-letter report of one this hub forwarded (`$process-message`), a re-drive asked for one of its agencies
 * (`$redrive`). Such a request carries a hub-to-hub delivery token (`typ` infoshare-delivery+jwt) — never an
 * access token — signed with the key this directory pins for that partnership's hub, over the exact body bytes
 * (peer-hubs.ts). Refused (401, audited as a security refusal, SI-L3) before anything is read: a key no configured
 * peer pins, another issuer or audience, an altered body, an expired or replayed token.
 */
import type { NextFunction, Request, Response } from 'express';
import { bearerToken } from '../../../shared/auth/middleware.js';
import { unverifiedJwt } from '../../../shared/auth/unverified-jwt.js';
import { requestIdOf } from '../../../shared/fhir/exchange-context.js';
import { rawBodyOf } from '../../../shared/fhir/express.js';
import { refusedBySecurityModel } from '../../../shared/fhir/rest/access.js';
import type { Logger } from '../../../shared/log.js';
import { DELIVERY_TOKEN_TYPE, deliveryTokenRefusal, type DeliveryTokenClaims } from '../../../shared/messaging/delivery-token.js';
import type { PeerHub } from '../domain/peer-hubs.js';
import type { PeerHubs } from '../peer-hubs.js';

/**
 * Routes a request here only when its bearer token is a delivery token (JWT
 * header `typ`, read unverified: the operation verifies it); anything else —
 * an agency's access token, no token — goes on to the agency's own route.
 */
export function fromPeerHub(req: Request, _res: Response, next: NextFunction): void {
  const typ: unknown = unverifiedJwt(bearerToken(req.headers.authorization) ?? '')?.header.typ;
  next(typ === DELIVERY_TOKEN_TYPE ? undefined : 'route');
}

/** A peer hub's request, its token verified: which hub signed it, the token's claims, the exact body bytes. */
export interface VerifiedPeerRequest {
  readonly hub: PeerHub;
  readonly claims: DeliveryTokenClaims;
  readonly body: Buffer;
}

/**
 * Verifies the request's delivery token against its exact body and remembers its id (a replay is refused); the
 * peer hub is then who acted, for the exchange's audit record and any change it makes.
 */
export async function verifiedPeerRequest(peers: PeerHubs, log: Logger, req: Request, res: Response): Promise<VerifiedPeerRequest> {
  const body = rawBodyOf(req) ?? Buffer.alloc(0);
  let token: string | undefined;
  try {
    token = bearerToken(req.headers.authorization);
  } catch {
    refusedBySecurityModel(res);
    throw deliveryTokenRefusal('malformed');
  }
  const verdict = await peers.verifyForwarded(token, body);
  if (!verdict.ok) {
    refusedBySecurityModel(res);
    log.warn({ problem: verdict.problem, requestId: requestIdOf(res) }, 'refused a request from a peer hub: not signed by a peer hub this directory pins');
    throw deliveryTokenRefusal(verdict.problem);
  }
  const { hub, claims } = verdict;
  res.locals.auth = { sub: `hub:${hub.partnership}`, partnership: hub.partnership, scopes: [] };
  if (!(await peers.rememberForwarded(claims))) {
    refusedBySecurityModel(res);
    throw deliveryTokenRefusal('replayed');
  }
  return { hub, claims, body };
}
