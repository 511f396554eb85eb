/**
 * Access tokens for the agencies a scenario acts as. Genuine tokens are
 * fetched once per actor (agency, scope, acting person) and reused while they
 * have time left, so a long scenario does not hammer the token endpoint.
 */
import { loadSigningKey, loadSigningKeyFile, type SigningKey } from '../../shared/auth/keys.js';
import { demoAgencyKey } from '../../shared/client/demo-keys.js';
import { sendHttp } from '../../shared/client/http.js';
import { getAccessToken } from '../../shared/client/token.js';
import { craftAccessToken } from './crafted-tokens.js';
import type { Actor } from './scenario.js';
import type { ReplayTarget } from './target.js';

/** Refresh a cached token with less than this left, so it cannot expire mid-request. */
const MIN_REMAINING_MS = 30_000;

export class ActorTokens {
  private readonly cache = new Map<string, { token: string; expiresAtMs: number }>();
  private readonly agencyKeys = new Map<string, SigningKey>();
  private partnershipKey: SigningKey | undefined;
  private jwks: { keys: readonly unknown[] } | undefined;

  constructor(private readonly target: ReplayTarget) {}

  /** The agency's demo signing key. */
  async agencyKey(agencyId: string): Promise<SigningKey> {
    let key = this.agencyKeys.get(agencyId);
    if (!key) {
      key = loadSigningKey(await demoAgencyKey(agencyId));
      this.agencyKeys.set(agencyId, key);
    }
    return key;
  }

  /** A genuine access token for the actor. `requestId` tags the token exchange in the audit trail. */
  async genuine(actor: Actor, requestId: string): Promise<string> {
    const cacheKey = JSON.stringify([actor.agency, actor.scope ?? '', actor.practitionerRole ?? '', actor.patient ?? '']);
    const hit = this.cache.get(cacheKey);
    if (hit && hit.expiresAtMs - Date.now() > MIN_REMAINING_MS) return hit.token;
    const started = Date.now();
    const response = await getAccessToken({
      tokenUrl: this.target.tokenUrl,
      agencyId: actor.agency,
      privateKeyPem: await demoAgencyKey(actor.agency),
      ...(actor.scope ? { scope: actor.scope } : {}),
      ...(actor.practitionerRole ? { practitionerRole: actor.practitionerRole } : {}),
      ...(actor.patient ? { patient: actor.patient } : {}),
      requestId,
    });
    this.cache.set(cacheKey, { token: response.access_token, expiresAtMs: started + response.expires_in * 1000 });
    return response.access_token;
  }

  /** The token the step presents (undefined: no Authorization header), made as `actor.token` says. */
  async forStep(actor: Actor, requestId: string): Promise<string | undefined> {
    return craftAccessToken(actor.token ?? 'valid', () => this.genuine(actor, requestId), {
      partnershipKey: async () => (this.partnershipKey ??= await loadSigningKeyFile(this.target.signingKeyFile)),
      jwks: async () => (this.jwks ??= await this.fetchJwks()),
    });
  }

  private async fetchJwks(): Promise<{ keys: readonly unknown[] }> {
    const res = await sendHttp({ method: 'GET', url: this.target.jwksUrl });
    const keys = (res.body as { keys?: unknown } | undefined)?.keys;
    if (res.status !== 200 || !Array.isArray(keys)) throw new Error(`cannot read the directory's JWKS at ${this.target.jwksUrl} (${res.status})`);
    return { keys };
  }
}
