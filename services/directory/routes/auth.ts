/**
 * The partnership's authorisation server (SMART Backend Services style):
 *
 *   POST /auth/token      client_credentials + private_key_jwt → short-lived access token   (audited: login/token, SI-L3)
 *   GET  /auth/jwks.json  the public key access tokens are signed with
 *   GET  /.well-known/smart-configuration (also under /fhir)  how to get a token (SMART discovery)
 *
 * Clients are the agencies registered in the directory (domain/clients.ts);
 * the grant itself is shared/auth/token-grant.ts. Refusals are OperationOutcomes
 * (401 for a client that cannot be authenticated, 400 otherwise), audited like
 * every other answer; a refusal on security grounds (unknown client, bad or
 * replayed assertion, scope not allowed, practitioner not of the agency) is
 * evidence for SI-L3.
 */
import { Router, type Request, type Response } from 'express';
import type { PractitionerRole } from 'fhir/r4.js';
import { publicJwks } from '../../../shared/auth/keys.js';
import { RedisJtiStore } from '../../../shared/auth/jti-store.js';
import { isOAuthError, type OAuthErrorCode } from '../../../shared/auth/oauth-error.js';
import { grantToken, TOKEN_RESPONSE_HEADERS, type TokenGrantDeps } from '../../../shared/auth/token-grant.js';
import { auditExchange, describeExchange } from '../../../shared/fhir/exchange-context.js';
import type { AuditSink } from '../../../shared/audit/exchange.js';
import { handler } from '../../../shared/fhir/express.js';
import { SECURITY_MODEL_CRITERIA } from '../../../shared/fhir/rest/access.js';
import type { DirectoryContext } from '../context.js';
import { registeredClientOf, roleBelongsToAgency } from '../domain/clients.js';
import { smartConfiguration } from '../domain/smart-configuration.js';

/** OAuth refusals that are security decisions (as opposed to a malformed request). */
const SECURITY_REFUSALS: ReadonlySet<OAuthErrorCode> = new Set(['invalid_client', 'invalid_scope', 'invalid_grant']);

/** Services refetch the JWKS at most this often unless a token names a new key. */
const JWKS_MAX_AGE_SECONDS = 300;

export function authRoutes(ctx: DirectoryContext): Router {
  const { config, redis, keys } = ctx.deps;
  const grantDeps: TokenGrantDeps = {
    clients: async (clientId) => {
      const [org] = await ctx.store.readMany('Organization', [clientId]);
      return org ? registeredClientOf(org) : undefined;
    },
    jtiStore: new RedisJtiStore(redis, keys),
    signingKey: ctx.signingKey,
    token: config.token,
    checkActingPerson: async (client, person) => {
      // A person acting for themselves needs a citizen-facing client, which no agency system is.
      if (person.resourceType !== 'PractitionerRole') return false;
      const [role] = await ctx.store.readMany('PractitionerRole', [person.id]);
      return roleBelongsToAgency(role as PractitionerRole | undefined, client.agency, ctx.now());
    },
    now: () => ctx.now().getTime(),
  };
  const jwks = publicJwks([ctx.signingKey]);
  const router = Router();

  router.post(
    '/auth/token',
    handler(async (req, res) => {
      describeExchange(res, { type: 'login', subtype: 'token', action: 'E' });
      let grant;
      try {
        grant = await grantToken(req.body, grantDeps);
      } catch (err) {
        if (isOAuthError(err)) {
          // Only a claim, never a decision: who the refused request said it was, for the audit record.
          if (err.claimedClientId) res.locals.auth = { sub: err.claimedClientId };
          describeExchange(res, { criteriaOnDenial: SECURITY_REFUSALS.has(err.oauthError) ? [...SECURITY_MODEL_CRITERIA] : [] });
        }
        throw err;
      }
      const { claims } = grant;
      res.locals.auth = {
        sub: claims.sub,
        agency: claims.agency,
        partnership: claims.partnership,
        ...(claims.practitionerRole ? { practitionerRole: claims.practitionerRole } : {}),
        ...(claims.patient ? { patient: claims.patient } : {}),
      };
      describeExchange(res, {
        entities: [{ reference: `Organization/${claims.agency}`, role: 'domain-resource', description: `scope: ${claims.scope}` }],
        criteria: [...SECURITY_MODEL_CRITERIA],
      });
      await sendAuditedJson(req, res, 200, grant.response, TOKEN_RESPONSE_HEADERS);
    }),
  );

  router.get(
    '/auth/jwks.json',
    handler(async (req, res) => {
      describeExchange(res, { subtype: 'jwks', action: 'R' });
      await sendAuditedJson(req, res, 200, jwks, { 'Cache-Control': `public, max-age=${JWKS_MAX_AGE_SECONDS}` });
    }),
  );

  // SMART discovery lives beside the FHIR base ([base]/.well-known/…); the root copy serves clients given the server's address.
  const discovery = smartConfiguration({ issuer: config.token.issuer, tokenUrl: config.token.tokenUrl, jwksUrl: `${config.urls.directory}/auth/jwks.json` });
  router.get(
    ['/.well-known/smart-configuration', '/fhir/.well-known/smart-configuration'],
    handler(async (req, res) => {
      describeExchange(res, { subtype: 'smart-configuration', action: 'R' });
      await sendAuditedJson(req, res, 200, discovery, { 'Cache-Control': `public, max-age=${JWKS_MAX_AGE_SECONDS}` });
    }),
  );

  return router;
}

/**
 * Audits, then sends plain JSON (OAuth and JWKS answers are not FHIR
 * resources). If the audit write fails it throws, and the error handler answers
 * 503: nothing is handed out unaudited.
 */
async function sendAuditedJson(req: Request, res: Response, status: number, body: unknown, headers: Readonly<Record<string, string>>): Promise<void> {
  await auditExchange(req, res, res.app.locals.audit as AuditSink, status);
  res.status(status).set(headers).json(body);
}
