/**
 * `POST /auth/token`: the partnership's authorisation server (SMART Backend
 * Services style) — client_credentials with a `private_key_jwt` client
 * assertion → a short-lived access token (audited: login/token, SI-L3).
 *
 * Clients are the agencies registered in the directory (domain/clients.ts);
 * the grant itself is shared/auth/token-grant.ts. Refusals are OperationOutcomes
 * (401 for a client that cannot be authenticated, 400 otherwise), audited like
 * every other answer; a refusal on security grounds (unknown client, bad or
 * replayed assertion, scope not allowed, practitioner not of the agency) is
 * evidence for SI-L3.
 */
import type { Request, Response } from 'express';
import { RedisJtiStore } from '../../../shared/auth/jti-store.js';
import { isOAuthError, OAuthError, type OAuthErrorCode } from '../../../shared/auth/oauth-error.js';
import { servesPartnership } from '../../../shared/config.js';
import { grantToken, TOKEN_RESPONSE_HEADERS, type TokenGrantDeps } from '../../../shared/auth/token-grant.js';
import { describeExchange } from '../../../shared/fhir/exchange-context.js';
import { SECURITY_MODEL_CRITERIA } from '../../../shared/fhir/rest/access.js';
import type { DirectoryContext } from '../context.js';
import { personSupportedByAgency, registeredClientOf, roleBelongsToAgency } from '../domain/clients.js';
import { namedPractitionerRoleIds } from '../domain/named-professionals.js';
import { sendAuditedJson } from './plain-json.js';

/** OAuth refusals that are security decisions (as opposed to a malformed request). */
const SECURITY_REFUSALS: ReadonlySet<OAuthErrorCode> = new Set(['invalid_client', 'invalid_scope', 'invalid_grant']);

export function issueToken(ctx: DirectoryContext) {
  const { config, redis, keys } = ctx.deps;
  const grantDeps: TokenGrantDeps = {
    clients: async (clientId) => {
      const [org] = await ctx.store.readMany('Organization', [clientId]);
      const client = org ? registeredClientOf(org) : undefined;
      // An agency of a partnership with its own hub signs in there; this hub only forwards alerts to that hub.
      if (client && !servesPartnership(config.partnership, client.partnership)) {
        throw new OAuthError('invalid_client', `${clientId} belongs to ${client.partnership}, which runs its own hub: sign in there`, clientId);
      }
      return client;
    },
    jtiStore: new RedisJtiStore(redis, keys),
    signingKey: ctx.signingKey,
    token: config.token,
    checkActingPerson: async (client, person) => {
      // A person acting for themselves signs in through the system of an agency that supports them (its
      // patient-facing portal): one managing their Named Person / Lead Professional team or employing them.
      if (person.resourceType === 'Patient') {
        const now = ctx.now();
        const { resources: teams } = await ctx.store.search('CareTeam', { subject: person.reference, _count: '100', _total: 'none' });
        const roles = await ctx.store.readMany('PractitionerRole', namedPractitionerRoleIds(teams, now));
        return personSupportedByAgency(teams, roles, client.agency, now);
      }
      const [role] = await ctx.store.readMany('PractitionerRole', [person.id]);
      return roleBelongsToAgency(role, client.agency, ctx.now());
    },
    now: () => ctx.now().getTime(),
  };

  return async (req: Request, res: Response): Promise<void> => {
    describeExchange(res, { type: 'login', subtype: 'token', action: 'E' });
    let grant;
    try {
      grant = await grantToken(req.body, grantDeps);
    } catch (err) {
      if (isOAuthError(err)) {
        // Only a claim, never a decision: who the refused request said it was, for the audit record.
        if (err.claimedClientId) res.locals.auth = { sub: err.claimedClientId };
        describeExchange(res, { criteriaOnDenial: SECURITY_REFUSALS.has(err.oauthError) ? [...SECURITY_MODEL_CRITERIA] : [] });
        // RFC 9110 §15.5.2: a 401 names how to authenticate; here, a private_key_jwt client assertion (RFC 7523).
        if (err.status === 401) res.setHeader('WWW-Authenticate', 'private_key_jwt realm="infoshare"');
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
  };
}
