/**
 * A plan shared across the partnership boundary, hub to hub (AP-L5): Edinburgh
 * social work writes Ailsa's plan at the Lothian hub; her Lead Professional grants
 * Fife social work access to her plans; Fife social work reads it through the Fife
 * hub, which asks the Lothian hub on its behalf with a token signed by the Fife
 * hub's own key. Permitted only when the Lothian ISP, the Fife ISP and the Consent
 * all allow it; audited on both sides. Real Redis (two key prefixes), both hubs.
 */
import { readFile } from 'node:fs/promises';
import type { AuditEvent, CarePlan, Consent, OperationOutcome } from 'fhir/r4.js';
import { readAuditEntries, readAuditTrailOf } from '../shared/audit/audit-client.js';
import { eventOfEntry } from '../shared/audit/audit-entry.js';
import { criteriaOfEvent, triggerOfEvent } from '../shared/audit/audit-event.js';
import { issueAccessToken } from '../shared/auth/access-token.js';
import { loadSigningKey } from '../shared/auth/keys.js';
import { demoAgencyKey } from '../shared/client/demo-keys.js';
import { sendHttp, type HttpResult } from '../shared/client/http.js';
import { getAccessToken } from '../shared/client/token.js';
import { directoryStore } from '../services/directory/store.js';
import type { RunningHub } from '../services/hub.js';
import { carePlan, consent, subjectOf } from './plans.js';
import { startTwoHubs, type TwoHubs } from './two-hubs.js';

const AILSA = { agency: 'edinburgh-social-work', local: 'demo-child-1' };
const FIFE_READER = 'fife-social-work';

let hubs: TwoHubs;
let plan: CarePlan;
let grant: Consent;

beforeAll(async () => {
  hubs = await startTwoHubs();
  const { lothian } = hubs;
  const written = await post(lothian, 'plans', '/fhir/CarePlan', await bearer(lothian, 'edinburgh-social-work'), carePlan(subjectOf(AILSA), { title: "Ailsa's child's plan" }));
  expect(written.status).toBe(201);
  plan = written.body as CarePlan;
  const granted = await post(
    lothian,
    'plans',
    '/fhir/Consent',
    await bearer(lothian, 'edinburgh-social-work', 'role-ross-campbell'),
    consent('Patient/demo-child-1', [{ actor: `Organization/${FIFE_READER}`, classes: ['plans'] }]),
  );
  expect(granted.status).toBe(201);
  grant = granted.body as Consent;
}, 120_000);

afterAll(async () => {
  await hubs?.stop();
});

async function bearer(hub: RunningHub, agencyId: string, practitionerRole?: string): Promise<string> {
  const { access_token } = await getAccessToken({
    tokenUrl: hub.config.token.tokenUrl,
    agencyId,
    privateKeyPem: await demoAgencyKey(agencyId),
    ...(practitionerRole ? { practitionerRole } : {}),
  });
  return `Bearer ${access_token}`;
}

function url(hub: RunningHub, service: 'plans', path: string): string {
  return `${hub.config.urls[service]}${path}`;
}

async function post(hub: RunningHub, service: 'plans', path: string, authorization: string, body: unknown): Promise<HttpResult> {
  return sendHttp({ method: 'POST', url: url(hub, service, path), headers: { authorization, 'content-type': 'application/fhir+json', accept: 'application/fhir+json' }, body: JSON.stringify(body) });
}

async function get(hub: RunningHub, path: string, authorization: string, headers: Record<string, string> = {}): Promise<HttpResult> {
  return sendHttp({ method: 'GET', url: url(hub, 'plans', path), headers: { authorization, accept: 'application/fhir+json', ...headers } });
}

/** Fife social work reads the plan through its own hub. */
async function readThroughFife(agency = FIFE_READER, headers: Record<string, string> = {}): Promise<HttpResult> {
  return get(hubs.fife, `/fhir/CarePlan/$peer-read?partnership=lothian-hscp&id=${plan.id!}`, await bearer(hubs.fife, agency), headers);
}

const requestIdOf = (res: HttpResult) => res.headers['x-request-id'] ?? '';
const issueText = (res: HttpResult) => JSON.stringify((res.body as OperationOutcome).issue);

/** Amends `isp-lothian-fife` in one hub's directory (its signatures no longer hold: that hub allows nothing under it) for `during`, then restores it. */
async function withIspAmendedAt(hub: RunningHub, during: () => Promise<void>): Promise<void> {
  const store = directoryStore(hub.deps.redis, hub.deps.keys, { service: 'directory' });
  const isp = await store.read('Contract', 'isp-lothian-fife');
  const cause = { requestId: 'test-amend-isp', agent: {} };
  await store.update({ ...isp, title: `${isp.title ?? ''} (amended)` }, { cause });
  try {
    await during();
  } finally {
    const amended = await store.read('Contract', 'isp-lothian-fife');
    await store.update({ ...isp, meta: amended.meta }, { cause });
  }
}

describe('a plan across the partnership boundary, hub to hub', () => {
  it('reaches an agency of the other partnership through its own hub when both ISPs and the Consent allow it, audited on both sides (AP-L5)', async () => {
    const res = await readThroughFife();
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ resourceType: 'CarePlan', id: plan.id, title: "Ailsa's child's plan" });
    expect(res.headers['content-location']).toBe(`${hubs.lothian.config.urls.plans}/fhir/CarePlan/${plan.id!}/_history/1`);

    // The Fife hub: its agency's exchange (AP-L5 with both ISPs checked) and its call to the Lothian hub (transmit).
    const atFife = await readAuditTrailOf(hubs.fife.deps.redis, hubs.fife.deps.keys, requestIdOf(res));
    const answer = atFife.find((e) => e.subtype?.some((s) => s.code === '$peer-read'));
    expect(criteriaOfEvent(answer!)).toEqual(expect.arrayContaining(['AP-L5', 'IM-L4', 'IM-L5']));
    const transmit = atFife.find((e) => triggerOfEvent(e) === 'outbound');
    expect(transmit).toMatchObject({ outcome: '0' });
    expect(JSON.stringify(transmit)).toContain(`/CarePlan/${plan.id!}`);

    // The Lothian hub: a read by Fife social work, decided by the Consent, across the boundary.
    const lothianReads = await lothianTrail((e) => e.subtype?.some((s) => s.code === 'read') === true && JSON.stringify(e).includes(FIFE_READER));
    const read = lothianReads.at(-1)!;
    expect(read.outcome).toBe('0');
    expect(criteriaOfEvent(read)).toEqual(expect.arrayContaining(['AP-L3', 'AP-L4', 'AP-L5', 'IM-L4', 'IM-L5']));
    expect(JSON.stringify(read)).toContain('Endpoint/fife-hscp-hub');
  });

  it('is refused when the Consent does not name the reader, and on the very next read after the Consent is revoked', async () => {
    // Refused, and answered as a plan the other hub does not hold: never telling that it exists.
    const education = await readThroughFife('fife-education');
    expect(education.status).toBe(404);
    expect(issueText(education)).toContain(`lothian-hscp's hub: CarePlan/${plan.id!} is not known`);

    /** The Named Person rewrites the grant with `status`, over the version they last saw. */
    const putGrant = async (status: Consent['status'], versionId: string) =>
      sendHttp({
        method: 'PUT',
        url: url(hubs.lothian, 'plans', `/fhir/Consent/${grant.id!}`),
        headers: {
          authorization: await bearer(hubs.lothian, 'edinburgh-social-work', 'role-ross-campbell'),
          'content-type': 'application/fhir+json',
          accept: 'application/fhir+json',
          'if-match': `W/"${versionId}"`,
        },
        body: JSON.stringify({ ...grant, status }),
      });
    const revoked = await putGrant('inactive', grant.meta!.versionId!);
    expect(revoked.status).toBe(200);
    try {
      const after = await readThroughFife();
      expect(after.status).toBe(404);
    } finally {
      const restored = await putGrant('active', (revoked.body as Consent).meta!.versionId!);
      expect(restored.status).toBe(200);
    }
    expect((await readThroughFife()).status).toBe(200);
  });

  it("is refused when the Lothian hub's ISP no longer allows it", async () => {
    await withIspAmendedAt(hubs.lothian, async () => {
      const res = await readThroughFife();
      expect(res.status).toBe(404);
      expect(issueText(res)).toContain(`lothian-hscp's hub: CarePlan/${plan.id!} is not known`);
    });
  });

  it("is refused when the Fife hub's own ISP does not allow it, though the Lothian hub and the Consent do (both sides decide), audited as a correct refusal", async () => {
    await withIspAmendedAt(hubs.fife, async () => {
      // Answered as the Lothian hub answers a plan it does not hold; the real reason is in the audit.
      const res = await readThroughFife();
      expect(res.status).toBe(404);
      expect(issueText(res)).toContain(`lothian-hscp's hub: CarePlan/${plan.id!} is not known`);
      const atFife = await readAuditTrailOf(hubs.fife.deps.redis, hubs.fife.deps.keys, requestIdOf(res));
      const answer = atFife.find((e) => e.subtype?.some((s) => s.code === '$peer-read'));
      expect(answer?.outcome).toBe('4');
      expect(answer?.outcomeDesc).toContain("ISP does not let edinburgh-social-work's plans reach fife-social-work");
      expect(criteriaOfEvent(answer!)).toEqual(expect.arrayContaining(['SI-L3', 'IM-L4']));
      expect(criteriaOfEvent(answer!)).not.toContain('AP-L5');
    });
  });

  it('refuses bad input with a clear OperationOutcome (400), audited', async () => {
    const token = await bearer(hubs.fife, FIFE_READER);
    const cases: [string, string][] = [
      ['/fhir/CarePlan/$peer-read?id=x', 'partnership is required'],
      [`/fhir/CarePlan/$peer-read?partnership=lothian-hscp`, 'id is required'],
      [`/fhir/CarePlan/$peer-read?partnership=lothian-hscp&id=${encodeURIComponent('a/b')}`, 'id is the plan id'],
      [`/fhir/CarePlan/$peer-read?partnership=nowhere-hscp&id=x`, 'not a partnership this hub reads plans from'],
      [`/fhir/CarePlan/$peer-read?partnership=lothian-hscp&partnership=fife-hscp&id=x`, 'partnership is given once'],
    ];
    for (const [path, text] of cases) {
      const res = await get(hubs.fife, path, token);
      expect(res.status).toBe(400);
      expect(issueText(res)).toContain(text);
      const trail = await readAuditTrailOf(hubs.fife.deps.redis, hubs.fife.deps.keys, requestIdOf(res));
      expect(trail.some((e) => e.outcome === '4')).toBe(true);
    }
    const breakGlass = await readThroughFife(FIFE_READER, { 'x-purpose-of-use': 'BTG', 'x-break-glass-reason': 'unconscious' });
    expect(breakGlass.status).toBe(400);
    const unknownPlan = await get(hubs.fife, '/fhir/CarePlan/$peer-read?partnership=lothian-hscp&id=no-such-plan', token);
    expect(unknownPlan.status).toBe(404);
  });

  it('refuses a token the reader hub did not sign: an agency cannot skip its own hub, nor a peer hub speak for another partnership', async () => {
    // Fife social work's own token, straight at the Lothian hub: issued by the Fife hub for the Fife hub only.
    const direct = await get(hubs.lothian, `/fhir/CarePlan/${plan.id!}`, await bearer(hubs.fife, FIFE_READER));
    expect(direct.status).toBe(401);
    // Signed with the Fife hub's key, but acting for a Lothian agency.
    const key = loadSigningKey(await readFile(hubs.fife.config.token.signingKeyFile), 'ES256');
    const { token } = issueAccessToken(
      { clientId: 'hub:fife-hscp', scopes: ['system/CarePlan.read'], agency: 'edinburgh-education', partnership: 'fife-hscp' },
      key,
      { issuer: 'fife-hscp', audience: 'lothian-hscp', ttlSeconds: 60 },
    );
    const speaking = await get(hubs.lothian, `/fhir/CarePlan/${plan.id!}`, `Bearer ${token}`);
    expect(speaking.status).toBe(403);
    expect(issueText(speaking)).toContain('asks only for agencies of fife-hscp');
  });
});

/** Lothian audit records matching `match` (the hub-to-hub read has its own request id at the Lothian hub). */
async function lothianTrail(match: (e: AuditEvent) => boolean): Promise<AuditEvent[]> {
  const entries = await readAuditEntries(hubs.lothian.deps.redis, hubs.lothian.deps.keys, { count: 100_000 });
  return entries.map((e) => eventOfEntry(e.entry)).filter(match);
}
