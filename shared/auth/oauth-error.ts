/**
 * Token-endpoint errors (RFC 6749 §5.2) as OperationOutcomeErrors.
 *
 * The hub answers every error with an OperationOutcome, so the shared error
 * handler renders these like any other. The body also carries RFC 6749 §5.2's
 * `error` and `error_description` members beside `resourceType` and `issue`:
 * OAuth client libraries read `error`, FHIR clients read the issues, and one
 * body serves both (readers of either ignore the other's members).
 */
import type { OperationOutcome } from 'fhir/r4.js';
import { OperationOutcomeError, outcome, type IssueCode } from '../fhir/outcome.js';

export type OAuthErrorCode = 'invalid_request' | 'invalid_client' | 'invalid_grant' | 'unsupported_grant_type' | 'invalid_scope';

/** RFC 6749 §5.2 error response members. */
export interface OAuthErrorBody {
  readonly error: OAuthErrorCode;
  readonly error_description: string;
}

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
    const body: OperationOutcome & OAuthErrorBody = { ...outcome(issue, `${code}: ${description}`), error: code, error_description: description };
    super(body, status);
    this.name = 'OAuthError';
    this.oauthError = code;
    this.description = description;
    this.claimedClientId = claimedClientId;
  }

  /** The RFC 6749 §5.2 members the body carries. */
  oauthBody(): OAuthErrorBody {
    return { error: this.oauthError, error_description: this.description };
  }
}

export function isOAuthError(e: unknown): e is OAuthError {
  return e instanceof OAuthError;
}
