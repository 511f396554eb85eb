/**
 * The SMART discovery document (`/.well-known/smart-configuration`): how an
 * agency system obtains tokens here, as SMART Backend Services clients look it
 * up. Only what this server really supports: client_credentials with a
 * private_key_jwt client assertion, the allow-listed signing algorithms, and
 * the scopes some kind of agency may be granted.
 */
import { SIGNING_ALGORITHMS } from '../../../shared/auth/keys.js';
import { AGENCY_TYPES } from '../../../shared/fhir/systems.js';
import { allowedScopesFor } from './agency-scopes.js';

export interface SmartConfiguration {
  readonly issuer: string;
  readonly token_endpoint: string;
  readonly jwks_uri: string;
  readonly grant_types_supported: readonly string[];
  readonly token_endpoint_auth_methods_supported: readonly string[];
  readonly token_endpoint_auth_signing_alg_values_supported: readonly string[];
  readonly scopes_supported: readonly string[];
  readonly capabilities: readonly string[];
}

export function smartConfiguration(urls: { issuer: string; tokenUrl: string; jwksUrl: string }): SmartConfiguration {
  return {
    issuer: urls.issuer,
    token_endpoint: urls.tokenUrl,
    jwks_uri: urls.jwksUrl,
    grant_types_supported: ['client_credentials'],
    token_endpoint_auth_methods_supported: ['private_key_jwt'],
    token_endpoint_auth_signing_alg_values_supported: SIGNING_ALGORITHMS,
    scopes_supported: [...new Set(AGENCY_TYPES.flatMap((type) => allowedScopesFor(type)))].sort(),
    capabilities: ['client-confidential-asymmetric'],
  };
}
