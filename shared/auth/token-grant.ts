/**
 * The token endpoint's logic (`POST /auth/token`), free of HTTP: takes the
 * parsed form, authenticates the client by its assertion, decides scopes and
 * the acting person, and issues the access token.
 *
 * Form fields (application/x-www-form-urlencoded):
 *   grant_type=client_credentials
 *   client_assertion_type=urn:ietf:params:oauth:client-assertion-type:jwt-bearer
 *   client_assertion=<signed JWT>
 *   scope=<space-separated>            optional; absent → every allowed scope
 *   client_id=<id>                     optional; must match the assertion
 *   practitioner_role=<id> | patient=<id>   optional acting person (one at most); with patient
 *                                      the token carries the patient scopes only (PATIENT_SCOPES)
 */
import type { HubConfig } from '../config.js';
import { issueAccessToken, type AccessTokenClaims } from './access-token.js';
import { CLIENT_ASSERTION_TYPE, verifyClientAssertion, type ClientRegistry, type RegisteredClient } from './client-assertion.js';
import type { JtiStore } from './jti-store.js';
import type { SigningKey } from './keys.js';
import { OAuthError } from './oauth-error.js';
import { hasScope, isValidScope, PATIENT_SCOPES, splitScopes } from './scopes.js';

/** A person acting through the agency system, named in the token. */
export interface ActingPerson {
  readonly resourceType: 'PractitionerRole' | 'Patient';
  readonly id: string;
  /** `PractitionerRole/<id>` or `Patient/<id>`. */
  readonly reference: string;
}

/**
 * Decides whether `client` may act for `person` (e.g. the PractitionerRole
 * belongs to the client's agency). Without one, the endpoint refuses acting persons.
 */
export type ActingPersonCheck = (client: RegisteredClient, person: ActingPerson) => Promise<boolean>;

export interface TokenGrantDeps {
  readonly clients: ClientRegistry;
  readonly jtiStore: JtiStore;
  /** The partnership key access tokens are signed with. */
  readonly signingKey: SigningKey;
  readonly token: Pick<HubConfig['token'], 'issuer' | 'audience' | 'ttlSeconds' | 'tokenUrl'>;
  readonly checkActingPerson?: ActingPersonCheck;
  /** For tests: the current time in ms. */
  readonly now?: () => number;
}

/** RFC 6749 §5.1 success body. */
export interface TokenResponse {
  readonly access_token: string;
  readonly token_type: 'bearer';
  readonly expires_in: number;
  readonly scope: string;
}

export interface TokenGrant {
  /** Send this as the JSON body. */
  readonly response: TokenResponse;
  /** What was granted, for the audit record. */
  readonly claims: AccessTokenClaims;
  readonly client: RegisteredClient;
}

/** RFC 6749 §5.1: token responses must not be cached. Set these on the response. */
export const TOKEN_RESPONSE_HEADERS: Readonly<Record<string, string>> = {
  'Cache-Control': 'no-store',
  Pragma: 'no-cache',
};

const FHIR_ID = /^[A-Za-z0-9\-.]{1,64}$/;

/** Runs the client_credentials grant. Throws an `OAuthError` (an OperationOutcomeError) on any refusal. */
export async function grantToken(form: unknown, deps: TokenGrantDeps): Promise<TokenGrant> {
  const field = formReader(form);
  const grantType = field('grant_type');
  if (grantType === undefined) throw new OAuthError('invalid_request', 'grant_type is required');
  if (grantType !== 'client_credentials') {
    throw new OAuthError('unsupported_grant_type', 'only grant_type=client_credentials is supported');
  }
  if (field('client_assertion_type') !== CLIENT_ASSERTION_TYPE) {
    throw new OAuthError('invalid_request', `client_assertion_type must be ${CLIENT_ASSERTION_TYPE}`);
  }
  const assertion = field('client_assertion');
  if (!assertion) throw new OAuthError('invalid_request', 'client_assertion is required');
  const person = actingPerson(field('practitioner_role'), field('patient'));
  const requestedScope = field('scope');

  const nowMs = (deps.now ?? Date.now)();
  const client = await verifyClientAssertion(
    assertion,
    { clients: deps.clients, jtiStore: deps.jtiStore, tokenUrl: deps.token.tokenUrl, nowMs },
    field('client_id'),
  );

  // A person acting for themselves gets the patient scopes only — never the agency system's own.
  const scopes = grantedScopes(requestedScope, person?.resourceType === 'Patient' ? { ...client, allowedScopes: PATIENT_SCOPES } : client);
  if (person) await checkPerson(client, person, deps.checkActingPerson);

  const { token, claims } = issueAccessToken(
    {
      clientId: client.clientId,
      scopes,
      agency: client.agency,
      partnership: client.partnership,
      ...(person?.resourceType === 'PractitionerRole' ? { practitionerRole: person.reference } : {}),
      ...(person?.resourceType === 'Patient' ? { patient: person.reference } : {}),
    },
    deps.signingKey,
    deps.token,
    nowMs,
  );
  return {
    response: { access_token: token, token_type: 'bearer', expires_in: claims.exp - claims.iat, scope: claims.scope },
    claims,
    client,
  };
}

/** Reads single string fields; a repeated or non-string field is a malformed request (RFC 6749 §3.2). */
function formReader(form: unknown): (name: string) => string | undefined {
  if (typeof form !== 'object' || form === null || Array.isArray(form)) {
    throw new OAuthError('invalid_request', 'send the parameters as application/x-www-form-urlencoded');
  }
  const record = form as Record<string, unknown>;
  return (name) => {
    if (!Object.hasOwn(record, name)) return undefined;
    const value = record[name];
    if (typeof value !== 'string') throw new OAuthError('invalid_request', `${name} must be given once, as text`);
    return value === '' ? undefined : value;
  };
}

function actingPerson(practitionerRole: string | undefined, patient: string | undefined): ActingPerson | undefined {
  if (practitionerRole !== undefined && patient !== undefined) {
    throw new OAuthError('invalid_request', 'give practitioner_role or patient, not both');
  }
  if (practitionerRole !== undefined) return person('PractitionerRole', practitionerRole, 'practitioner_role');
  if (patient !== undefined) return person('Patient', patient, 'patient');
  return undefined;
}

/** Accepts a bare id or a `Type/id` reference. */
function person(resourceType: ActingPerson['resourceType'], value: string, param: string): ActingPerson {
  const id = value.startsWith(`${resourceType}/`) ? value.slice(resourceType.length + 1) : value;
  if (!FHIR_ID.test(id)) throw new OAuthError('invalid_request', `${param} must be a ${resourceType} id`);
  return { resourceType, id, reference: `${resourceType}/${id}` };
}

/**
 * Requested ∩ allowed: none requested → every allowed scope; any requested
 * scope the client may not have → invalid_scope (never silently narrowed).
 * A requested scope is allowed when an allowed scope covers it, so a client
 * allowed `system/*.read` may ask for just `system/Patient.read`.
 */
export function grantedScopes(requested: string | undefined, client: RegisteredClient): string[] {
  const allowed = client.allowedScopes.filter(isValidScope);
  const asked = splitScopes(requested);
  if (asked.length === 0) {
    if (allowed.length === 0) throw new OAuthError('invalid_scope', 'no scopes are allowed for this client', client.clientId);
    return [...new Set(allowed)];
  }
  for (const scope of asked) {
    if (!isValidScope(scope)) throw new OAuthError('invalid_scope', `unknown scope ${scope.slice(0, 100)}`, client.clientId);
    if (!hasScope(allowed, scope)) {
      throw new OAuthError('invalid_scope', `scope ${scope} is not allowed for this client`, client.clientId);
    }
  }
  return asked;
}

async function checkPerson(client: RegisteredClient, person: ActingPerson, check: ActingPersonCheck | undefined): Promise<void> {
  if (!check) throw new OAuthError('invalid_request', 'this token endpoint does not accept an acting person', client.clientId);
  if (!(await check(client, person))) {
    throw new OAuthError('invalid_grant', `${person.reference} may not act through ${client.clientId}`, client.clientId);
  }
}
