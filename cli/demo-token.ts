/**
 * The access token a CLI command acts with: the demo agency's own client
 * assertion (its demo key) exchanged at the hub's token endpoint for one scope.
 * Commands that read a service's data as an agency (`matching`, `evidence`,
 * `audit`) all sign in this way.
 */
import { demoAgencyKey } from '../shared/client/demo-keys.js';
import { getAccessToken } from '../shared/client/token.js';
import type { HubConfig } from '../shared/config.js';
import { discoverTokenUrl } from './replay/target.js';

/**
 * The token endpoint a command signs in at: the one `--directory <url>` publishes when given
 * (a service of another hub only accepts that hub's tokens), else this machine's configured one.
 */
export async function tokenUrlFor(config: HubConfig, directoryUrl: string | undefined): Promise<string> {
  return directoryUrl ? discoverTokenUrl(directoryUrl, `${directoryUrl}/auth/token`) : config.token.tokenUrl;
}

export async function demoAgencyToken(tokenUrl: string, agencyId: string, scope: string): Promise<string> {
  const token = await getAccessToken({ tokenUrl, agencyId, privateKeyPem: await demoAgencyKey(agencyId), scope });
  return token.access_token;
}
