/**
 * Two partnerships, two hubs (MA-L5): the Lothian and Fife hubs run side by
 * side on one Redis, each with its own key prefix, ports and DEMO-ONLY
 * signing identity, each serving its own partnership's agencies and knowing
 * the other as a peer hub through its directory.
 */
import { readFileSync } from 'node:fs';
import type { Bundle, Endpoint } from 'fhir/r4.js';
import { getAccessToken, TokenRequestError } from '../shared/client/token.js';
import { demoAgencyKey } from '../shared/client/demo-keys.js';
import { sendHttp } from '../shared/client/http.js';
import { Extensions } from '../shared/fhir/systems.js';
import { DEMO_HUBS } from '../fixtures/partnership/demo-hubs.js';
import type { RunningHub } from '../services/hub.js';
import { startTwoHubs, type TwoHubs } from './two-hubs.js';

let hubs: TwoHubs;

beforeAll(async () => {
  hubs = await startTwoHubs();
}, 90_000);

afterAll(async () => {
  await hubs?.stop();
});

async function tokenFrom(hub: RunningHub, agencyId: string): Promise<string> {
  const { access_token } = await getAccessToken({ tokenUrl: hub.config.token.tokenUrl, agencyId, privateKeyPem: await demoAgencyKey(agencyId) });
  return access_token;
}

async function refusal(promise: Promise<unknown>): Promise<TokenRequestError> {
  const err = await promise.then(() => undefined, (e: unknown) => e);
  if (!(err instanceof TokenRequestError)) throw new Error(`expected a refused token request, got ${String(err)}`);
  return err;
}

describe('a hub per partnership', () => {
  it('runs each partnership’s hub under its own partnership, peers, key prefix and ports', () => {
    const { lothian, fife } = hubs;
    expect(lothian.config.partnership).toEqual({ id: 'lothian-hscp', peerHubs: ['fife-hscp'] });
    expect(fife.config.partnership).toEqual({ id: 'fife-hscp', peerHubs: ['lothian-hscp'] });
    expect(lothian.config.keyPrefix).not.toBe(fife.config.keyPrefix);
    const lothianPorts = new Set(Object.values(lothian.config.ports));
    for (const port of Object.values(fife.config.ports)) expect(lothianPorts.has(port)).toBe(false);
    expect(lothian.config.token.issuer).not.toBe(fife.config.token.issuer);
  });

  it('signs each hub’s tokens with its own key, published in its JWKS and registered on its hub Endpoint in the other partnership’s directory', async () => {
    const { lothian, fife } = hubs;
    const fifeJwks = (await sendHttp({ method: 'GET', url: fife.config.token.jwksUrl })).body as { keys: { kid: string }[] };
    const lothianJwks = (await sendHttp({ method: 'GET', url: lothian.config.token.jwksUrl })).body as { keys: { kid: string }[] };
    const fifeKid = JSON.parse(readFileSync(DEMO_HUBS['fife-hscp'].signingJwkFile, 'utf8')).kid as string;
    expect(fifeJwks.keys.map((k) => k.kid)).toEqual([fifeKid]);
    expect(lothianJwks.keys.map((k) => k.kid)).not.toContain(fifeKid);

    const token = await tokenFrom(lothian, 'nhs-lothian');
    const res = await sendHttp({
      method: 'GET',
      url: `${lothian.config.urls.directory}/fhir/Endpoint?organization=Organization/fife-hscp`,
      headers: { authorization: `Bearer ${token}`, accept: 'application/fhir+json' },
    });
    expect(res.status).toBe(200);
    const [hubEndpoint] = ((res.body as Bundle<Endpoint>).entry ?? []).map((e) => e.resource!);
    expect(hubEndpoint).toMatchObject({ status: 'active', connectionType: { code: 'infoshare-hub' }, address: `${fife.config.urls.alerts}/fhir` });
    const registered = JSON.parse(hubEndpoint!.extension!.find((e) => e.url === Extensions.hubPublicJwk)!.valueString!) as { kid: string };
    expect(registered.kid).toBe(fifeKid);
  });

  it('gives tokens only to its own partnership’s agencies: a peer partnership’s agency signs in at its own hub', async () => {
    const { lothian, fife } = hubs;
    await expect(tokenFrom(fife, 'vhk-emergency')).resolves.toEqual(expect.any(String));
    await expect(tokenFrom(lothian, 'edinburgh-social-work')).resolves.toEqual(expect.any(String));

    const atLothian = await refusal(tokenFrom(lothian, 'vhk-emergency'));
    expect(atLothian.status).toBe(401);
    expect(atLothian.message).toMatch(/fife-hscp, which runs its own hub/);
    const atFife = await refusal(tokenFrom(fife, 'edinburgh-social-work'));
    expect(atFife.status).toBe(401);
    expect(atFife.message).toMatch(/lothian-hscp, which runs its own hub/);
  });

  it('refuses at one hub a token the other hub issued (different signing key and issuer)', async () => {
    const { lothian, fife } = hubs;
    const fifeToken = await tokenFrom(fife, 'nhs-fife');
    const res = await sendHttp({
      method: 'GET',
      url: `${lothian.config.urls.directory}/fhir/Organization/nhs-fife`,
      headers: { authorization: `Bearer ${fifeToken}`, accept: 'application/fhir+json' },
    });
    expect(res.status).toBe(401);
    expect(res.body).toMatchObject({ resourceType: 'OperationOutcome' });
  });
});
