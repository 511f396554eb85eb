/**
 * The access token a CLI command acts with: the demo agency's own client
 * assertion (its demo key) exchanged at the hub's token endpoint for one scope.
 * Commands that read a service's data as an agency (`matching`, `evidence`,
 * `audit`) all sign in this way.
 */
import { demoAgencyKey } from '../shared/client/demo-keys.js';
import { getAccessToken } from '../shared/client/token.js';
import type { HubConfig } from '../shared/config.js';

export async function demoAgencyToken(config: HubConfig, agencyId: string, scope: string): Promise<string> {
  const token = await getAccessToken({ tokenUrl: config.token.tokenUrl, agencyId, privateKeyPem: await demoAgencyKey(agencyId), scope });
  return token.access_token;
}
