/**
 * The MPI as `infoshare load` talks to it: a transaction Bundle posted with
 * `Prefer: respond-async`, then its status URL polled. Tokens are the agency's
 * own (client assertion), renewed before they expire: a big load can outlast one.
 */
import type { Bundle } from 'fhir/r4.js';
import { getAccessToken } from '../../shared/client/token.js';
import { sendHttp, type HttpResult } from '../../shared/client/http.js';

/** What loading needs: creating and registering the agency's Patient records. */
export const LOAD_SCOPE = 'system/Patient.write';
/** A token is renewed this long before it expires, so no request carries an expired one. */
const RENEW_BEFORE_MS = 30_000;
/** Validating a Bundle of thousands of records takes a while; far longer means something is wrong. */
const POST_TIMEOUT_MS = 300_000;

export interface MpiClientOptions {
  /** The MPI's base URL (without /fhir). */
  readonly mpiUrl: string;
  readonly tokenUrl: string;
  readonly agencyId: string;
  readonly privateKeyPem: string;
}

export class MpiLoadClient {
  private token?: { value: string; renewAt: number };

  constructor(private readonly options: MpiClientOptions) {}

  /** Posts one transaction Bundle for registration in the background; the answer whatever its status. */
  async postAsync(bundle: Bundle): Promise<HttpResult> {
    return sendHttp({
      method: 'POST',
      url: `${this.options.mpiUrl}/fhir`,
      headers: { ...(await this.auth()), 'content-type': 'application/fhir+json', prefer: 'respond-async' },
      body: JSON.stringify(bundle),
      timeoutMs: POST_TIMEOUT_MS,
    });
  }

  /** One poll of a status URL (Content-Location of the 202). */
  async status(statusUrl: string): Promise<HttpResult> {
    return sendHttp({ method: 'GET', url: statusUrl, headers: await this.auth() });
  }

  private async auth(): Promise<Record<string, string>> {
    if (!this.token || Date.now() >= this.token.renewAt) {
      const response = await getAccessToken({
        tokenUrl: this.options.tokenUrl,
        agencyId: this.options.agencyId,
        privateKeyPem: this.options.privateKeyPem,
        scope: LOAD_SCOPE,
      });
      this.token = { value: response.access_token, renewAt: Date.now() + Math.max(0, response.expires_in * 1000 - RENEW_BEFORE_MS) };
    }
    return { authorization: `Bearer ${this.token.value}`, accept: 'application/fhir+json' };
  }
}
