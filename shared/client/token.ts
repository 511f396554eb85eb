/**
 * Getting an access token from the directory as an agency system: a signed
 * client assertion posted as an OAuth 2.0 client_credentials form.
 */
import { CLIENT_ASSERTION_TYPE } from '../auth/client-assertion.js';
import { loadSigningKey } from '../auth/keys.js';
import { signClientAssertion } from './client-assertion.js';
import { outcomeText, sendHttp, type HttpResult } from './http.js';

/** The token endpoint's successful answer (RFC 6749 §5.1). */
export interface TokenResponse {
  readonly access_token: string;
  readonly token_type: string;
  readonly expires_in: number;
  readonly scope: string;
}

export interface TokenRequestOptions {
  readonly tokenUrl: string;
  /** The agency's Organization id, which is also its client id. */
  readonly agencyId: string;
  readonly privateKeyPem: string;
  /** Space-separated scopes; when omitted the directory grants the agency's registered scopes. */
  readonly scope?: string;
  /** The acting practitioner: a PractitionerRole id or `PractitionerRole/<id>`. */
  readonly practitionerRole?: string;
  /** The person acting for themselves: a Patient id or `Patient/<id>`. */
  readonly patient?: string;
  /** Sent as X-Request-Id so the token exchange can be found in the audit trail. */
  readonly requestId?: string;
}

/** The token endpoint refused; `status` and `body` are its answer (an OperationOutcome). */
export class TokenRequestError extends Error {
  constructor(
    readonly status: number,
    readonly body: unknown,
  ) {
    super(`Token request refused (${status}): ${outcomeText(body) ?? 'no reason given'}`);
    this.name = 'TokenRequestError';
  }
}

/** The form fields of a token request (as `shared/auth/token-grant.ts` reads them). */
export function tokenRequestForm(options: Omit<TokenRequestOptions, 'privateKeyPem' | 'tokenUrl' | 'agencyId'> & { clientAssertion: string }): Record<string, string> {
  const form: Record<string, string> = {
    grant_type: 'client_credentials',
    client_assertion_type: CLIENT_ASSERTION_TYPE,
    client_assertion: options.clientAssertion,
  };
  if (options.scope) form.scope = options.scope;
  if (options.practitionerRole) form.practitioner_role = reference('PractitionerRole', options.practitionerRole);
  if (options.patient) form.patient = reference('Patient', options.patient);
  return form;
}

function reference(type: string, idOrRef: string): string {
  return idOrRef.startsWith(`${type}/`) ? idOrRef : `${type}/${idOrRef}`;
}

/** Posts a token request form and returns the answer whatever its status. */
export function postTokenRequest(tokenUrl: string, form: Readonly<Record<string, string>>, requestId?: string): Promise<HttpResult> {
  return sendHttp({
    method: 'POST',
    url: tokenUrl,
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      accept: 'application/json',
      ...(requestId ? { 'x-request-id': requestId } : {}),
    },
    body: new URLSearchParams(form).toString(),
  });
}

/** Signs a client assertion with the agency's key and exchanges it for an access token. */
export async function getAccessToken(options: TokenRequestOptions): Promise<TokenResponse> {
  const key = loadSigningKey(options.privateKeyPem);
  const clientAssertion = signClientAssertion({ clientId: options.agencyId, tokenUrl: options.tokenUrl, key });
  const form = tokenRequestForm({ ...options, clientAssertion });
  const res = await postTokenRequest(options.tokenUrl, form, options.requestId);
  if (res.status !== 200 || !isTokenResponse(res.body)) throw new TokenRequestError(res.status, res.body);
  return res.body;
}

function isTokenResponse(body: unknown): body is TokenResponse {
  return typeof body === 'object' && body !== null && typeof (body as { access_token?: unknown }).access_token === 'string';
}
