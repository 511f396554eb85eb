/**
 * SMART discovery for every FHIR base of the hub: the document at
 * `[base]/.well-known/smart-configuration` and the `oauth-uris` extension of a
 * CapabilityStatement's `rest.security`. SMART App Launch 2 has every FHIR
 * endpoint that needs a token publish where to get one, and clients look there
 * (fhir-kit-client's `smartAuthMetadata()` reads both): each service is its own
 * FHIR base, while the directory alone issues the tokens. Pure.
 */
import type { Extension } from 'fhir/r4.js';
import type { HubConfig } from '../config.js';
import { SIGNING_ALGORITHMS } from './keys.js';

/** Where a client gets a token for any service of the hub, and the keys that verify it. */
export interface SmartEndpoints {
  readonly issuer: string;
  readonly tokenUrl: string;
  readonly jwksUrl: string;
}

export function smartEndpointsOf(config: Pick<HubConfig, 'token' | 'urls'>): SmartEndpoints {
  return { issuer: config.token.issuer, tokenUrl: config.token.tokenUrl, jwksUrl: `${config.urls.directory}/auth/jwks.json` };
}

export interface SmartConfiguration {
  readonly issuer: string;
  readonly token_endpoint: string;
  readonly jwks_uri: string;
  readonly grant_types_supported: readonly string[];
  readonly token_endpoint_auth_methods_supported: readonly string[];
  readonly token_endpoint_auth_signing_alg_values_supported: readonly string[];
  readonly scopes_supported?: readonly string[];
  readonly capabilities: readonly string[];
}

/**
 * The discovery document: only what the hub really supports (SMART Backend Services: client_credentials
 * with a private_key_jwt client assertion, the allow-listed signing algorithms); `scopes` where the caller
 * knows which scopes agencies may be granted (the directory, which grants them).
 */
export function smartConfiguration(endpoints: SmartEndpoints, scopes?: readonly string[]): SmartConfiguration {
  return {
    issuer: endpoints.issuer,
    token_endpoint: endpoints.tokenUrl,
    jwks_uri: endpoints.jwksUrl,
    grant_types_supported: ['client_credentials'],
    token_endpoint_auth_methods_supported: ['private_key_jwt'],
    token_endpoint_auth_signing_alg_values_supported: SIGNING_ALGORITHMS,
    ...(scopes ? { scopes_supported: scopes } : {}),
    capabilities: ['client-confidential-asymmetric'],
  };
}

export const OAUTH_URIS = 'http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris';

/** The `rest.security` extension naming the token endpoint (SMART's `oauth-uris`; no `authorize`: there is no user launch). */
export function oauthUrisExtension(endpoints: SmartEndpoints): Extension {
  return { url: OAUTH_URIS, extension: [{ url: 'token', valueUri: endpoints.tokenUrl }] };
}
