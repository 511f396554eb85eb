/**
 * Token-endpoint errors (RFC 6749 §5.2) as OperationOutcomeErrors.
 *
 * The hub answers every error with an OperationOutcome, so the shared error
 * handler renders these like any other; the OAuth `error` code rides along
 * (`oauthError`, `oauthBody()`) for a route that also wants to put it in the
 * body, as OAuth client libraries expect.
 */
import { OperationOutcomeError, outcome, type IssueCode } from '../fhir/outcome.js';

export type OAuthErrorCode = 'invalid_request' | 'invalid_client' | 'invalid_grant' | 'unsupported_grant_type' | 'invalid_scope';

/** Status and OperationOutcome issue code of each OAuth error. Only a failed client authentication is a 401. */
const SHAPE: Readonly<Record<OAuthErrorCode, { status: number; issue: IssueCode }>> = {
  invalid_request: { status: 400, issue: 'invalid' },
  invalid_client: { status: 401, issue: 'login' },
  invalid_grant: { status: 400, issue: 'invalid' },
  unsupported_grant_type: { status: 400, issue: 'not-supported' },
  invalid_scope: { status: 400, issue: 'invalid' },
};

export class OAuthError extends OperationOutcomeError {
  readonly oauthError: OAuthErrorCode;
  readonly description: string;
  /**
   * The client id the request claimed (from the assertion's `iss`), verified or
   * not — for the audit record of a refused token request, never for decisions.
   */
  readonly claimedClientId: string | undefined;

  constructor(code: OAuthErrorCode, description: string, claimedClientId?: string) {
    const { status, issue } = SHAPE[code];
    super(outcome(issue, `${code}: ${description}`), status);
    this.name = 'OAuthError';
    this.oauthError = code;
    this.description = description;
    this.claimedClientId = claimedClientId;
  }

  /** The RFC 6749 §5.2 members, for a route that adds them to its body. */
  oauthBody(): { error: OAuthErrorCode; error_description: string } {
    return { error: this.oauthError, error_description: this.description };
  }
}

export function isOAuthError(e: unknown): e is OAuthError {
  return e instanceof OAuthError;
}
