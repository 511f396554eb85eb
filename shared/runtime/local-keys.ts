/** A key resolver over the partnership signing key itself (the directory, and the in-process hub). */
import type { HubConfig } from '../config.js';
import { staticKeyResolver, type KeyResolver } from '../auth/jwks-resolver.js';
import { loadSigningKeyFile, publicJwks } from '../auth/keys.js';

export async function localKeyResolver(config: HubConfig): Promise<KeyResolver> {
  const key = await loadSigningKeyFile(config.token.signingKeyFile);
  return staticKeyResolver(publicJwks([key]));
}
