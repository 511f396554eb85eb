/**
 * Express 5 middleware: `authenticate` turns `Authorization: Bearer …` into a
 * verified `AuthContext` on `res.locals.auth`; `requireScope` refuses requests
 * whose token lacks a scope. Refusals go to `next(err)` as OperationOutcomeErrors
 * for the shared error handler to audit and render.
 */
import type { RequestHandler, Response } from 'express';
import { forbidden, isOperationOutcomeError, unauthorized } from '../fhir/outcome.js';
import { VerifiedTokens, type AccessTokenClaims, type AccessTokenExpectations } from './access-token.js';
import type { KeyResolver } from './jwks-resolver.js';
import { hasScope, splitScopes } from './scopes.js';

/** Who is calling: the verified token claims, with the scopes split out. */
export interface AuthContext extends AccessTokenClaims {
  readonly scopes: readonly string[];
}

const REALM = 'infoshare';

/** The challenge of a 401 (RFC 9110 §11.6.1: every 401 names its scheme); the error handler adds it to a 401 that set none. */
export const BEARER_CHALLENGE = `Bearer realm="${REALM}"`;

/** The token of an `Authorization: Bearer <token>` header; undefined when there is no header. */
export function bearerToken(authorization: string | undefined): string | undefined {
  if (authorization === undefined) return undefined;
  const m = /^Bearer +([A-Za-z0-9\-._~+/]+=*) *$/i.exec(authorization);
  if (!m) throw unauthorized('Authorization header must be "Bearer <access token>"');
  return m[1];
}

/** Verifies the bearer token of every request it guards and stores the caller in `res.locals.auth`. */
export function authenticate(resolveKey: KeyResolver, expected: AccessTokenExpectations): RequestHandler {
  // A client sends the same token until it expires: its signature is checked once (access-token.ts).
  const verified = new VerifiedTokens(resolveKey, expected);
  // Its scopes are split once too: the verified claims are the same object for every request with that token.
  const scopesOf = new WeakMap<AccessTokenClaims, readonly string[]>();
  return async (req, res, next) => {
    try {
      const claims = await verified.verify(bearerToken(req.headers.authorization));
      let scopes = scopesOf.get(claims);
      if (!scopes) scopesOf.set(claims, (scopes = Object.freeze(splitScopes(claims.scope))));
      const auth: AuthContext = { ...claims, scopes };
      res.locals.auth = auth;
      next();
    } catch (err) {
      if (isOperationOutcomeError(err) && err.status === 401) {
        // RFC 6750 §3: a 401 names the scheme, and says whether a token was sent but refused.
        res.setHeader(
          'WWW-Authenticate',
          req.headers.authorization ? `${BEARER_CHALLENGE}, error="invalid_token"` : BEARER_CHALLENGE,
        );
      }
      next(err);
    }
  };
}

/** The authenticated caller; throws 401 if `authenticate` did not run for this route. */
export function authContext(res: Response): AuthContext {
  const auth = res.locals.auth as AuthContext | undefined;
  if (!auth) throw unauthorized();
  return auth;
}

/** Throws 403 unless the caller holds every scope given (for checks that depend on the request, e.g. the resource type). */
export function assertScope(auth: AuthContext, ...required: string[]): void {
  const missing = missingScope(auth, required);
  if (missing !== undefined) throw forbidden(`missing scope ${missing}`);
}

/** A required scope, or alternatives any one of which will do (`['system/CarePlan.read', 'patient/CarePlan.read']`). */
export type ScopeRequirement = string | readonly string[];

function missingScope(auth: AuthContext, required: readonly ScopeRequirement[]): string | undefined {
  const missing = required.find((need) => (typeof need === 'string' ? [need] : need).every((scope) => !hasScope(auth.scopes, scope)));
  return missing === undefined ? undefined : typeof missing === 'string' ? missing : missing.join(' or ');
}

/** Refuses with 403 unless the token holds every scope given (wildcards per scopes.ts). Place after `authenticate`. */
export function requireScope(...required: ScopeRequirement[]): RequestHandler {
  return (_req, res, next) => {
    try {
      const auth = authContext(res);
      const missing = missingScope(auth, required);
      if (missing !== undefined) {
        // RFC 6750 §3.1: say which scope would have been enough.
        res.setHeader('WWW-Authenticate', `Bearer realm="${REALM}", error="insufficient_scope", scope="${missing.split(' or ')[0]}"`);
        throw forbidden(`missing scope ${missing}`);
      }
      next();
    } catch (err) {
      next(err);
    }
  };
}
