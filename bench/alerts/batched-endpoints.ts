/**
 * Opting an agency's delivery Endpoint in to batched delivery through the
 * directory's API: read the agency's Endpoints and write each active one back
 * with the `delivery-batch-size` extension (Extensions.deliveryBatchSize),
 * signed in as whoever maintains Endpoints — a statutory partner (NHS board or
 * social work) writes any agency's, as it registers them. Used by bench:alerts
 * for the agency-sim endpoints and by the tests of batched delivery.
 */
import type { Bundle, Endpoint } from 'fhir/r4.js';
import { demoAgencyKey } from '../../shared/client/demo-keys.js';
import { getAccessToken } from '../../shared/client/token.js';
import { Extensions } from '../../shared/fhir/systems.js';

/** The demo partnership's NHS board: a statutory partner, which maintains the agencies' Endpoints. */
const DEMO_ENDPOINT_MAINTAINER = 'nhs-lothian';

/** Sets (or, with `batchSize` 1, removes) the agency's batch size on each of its active Endpoints; returns how many it changed. */
export async function setDeliveryBatchSize(directoryUrl: string, agencyId: string, batchSize: number, maintainer = DEMO_ENDPOINT_MAINTAINER): Promise<number> {
  const { access_token: token } = await getAccessToken({ agencyId: maintainer, tokenUrl: `${directoryUrl}/auth/token`, privateKeyPem: await demoAgencyKey(maintainer) });
  const headers = { authorization: `Bearer ${token}`, accept: 'application/fhir+json', 'content-type': 'application/fhir+json' };
  const found = await fetch(`${directoryUrl}/fhir/Endpoint?organization=Organization/${agencyId}`, { headers });
  if (!found.ok) throw new Error(`reading ${agencyId}'s Endpoints answered ${found.status}: ${await found.text()}`);
  const endpoints = ((await found.json()) as Bundle<Endpoint>).entry?.flatMap((e) => (e.resource?.status === 'active' ? [e.resource] : [])) ?? [];
  for (const endpoint of endpoints) {
    const extension = [
      ...(endpoint.extension ?? []).filter((x) => x.url !== Extensions.deliveryBatchSize),
      ...(batchSize > 1 ? [{ url: Extensions.deliveryBatchSize, valuePositiveInt: batchSize }] : []),
    ];
    const { meta: _meta, ...rest } = endpoint;
    const body: Endpoint = { ...rest, ...(extension.length > 0 ? { extension } : {}) };
    if (extension.length === 0) delete body.extension;
    const put = await fetch(`${directoryUrl}/fhir/Endpoint/${endpoint.id ?? ''}`, {
      method: 'PUT',
      headers: { ...headers, 'if-match': `W/"${endpoint.meta?.versionId ?? ''}"` },
      body: JSON.stringify(body),
    });
    if (!put.ok) throw new Error(`writing ${agencyId}'s Endpoint ${endpoint.id ?? ''} answered ${put.status}: ${await put.text()}`);
  }
  return endpoints.length;
}
