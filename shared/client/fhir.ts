/**
 * A fhir-kit-client `Client` for one hub service, authenticated with an access token.
 * Bodies are typed `Record<string, unknown>` by the library: spread typed resources
 * (`client.create({ resourceType: 'Patient', body: { ...patient } })`).
 */
import { Client } from 'fhir-kit-client';

export interface FhirClientOptions {
  /** Extra headers on every request (e.g. X-Request-Id). */
  readonly headers?: Readonly<Record<string, string>>;
}

/** `baseUrl` is the service's FHIR base, e.g. `http://localhost:4000/fhir`. */
export function fhirClient(baseUrl: string, token?: string, options: FhirClientOptions = {}): Client {
  return new Client({
    baseUrl,
    ...(token ? { bearerToken: token } : {}),
    customHeaders: { accept: 'application/fhir+json', ...options.headers },
  });
}

/** The FHIR base of a service root URL (`http://localhost:4000` → `http://localhost:4000/fhir`). */
export function fhirBase(serviceUrl: string): string {
  return `${serviceUrl.replace(/\/$/, '')}/fhir`;
}

/** What fhir-kit-client attaches to errors for non-2xx answers. */
export interface FhirClientErrorResponse {
  readonly status: number;
  readonly data: unknown;
}

export function fhirErrorResponse(err: unknown): FhirClientErrorResponse | undefined {
  const response = (err as { response?: { status?: unknown; data?: unknown } } | null)?.response;
  return response && typeof response.status === 'number' ? { status: response.status, data: response.data } : undefined;
}
