/**
 * An alert across the partnership boundary, hub to hub (MA-L5): Edinburgh
 * social work raises a child-protection alert at the Lothian hub; Victoria
 * Hospital Kirkcaldy A&E (Fife) is one of its recipients, served by the Fife
 * hub, so the Lothian hub forwards it there, signed with its own key; the Fife
 * hub checks the signature and its own ISP, accepts it durably and delivers it
 * to VHK's endpoint — exactly once, audited on both sides. A forwarded message
 * signed by any other key is refused and audited.
 */
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { Bundle, Parameters } from 'fhir/r4.js';
import { loadSigningKey } from '../shared/auth/keys.js';
import { sendHttp } from '../shared/client/http.js';
import { signDeliveryToken } from '../shared/messaging/delivery-token.js';
import { parseResponseMessage } from '../shared/messaging/response-message.js';
import type { RunningHub } from '../services/hub.js';
import { flagIdOf } from '../services/alerts/domain/ids.js';
import { minimisedMessage } from '../services/alerts/domain/minimise.js';
import { forwardedFlagIdOf } from '../services/alerts/domain/peer-hubs.js';
import { AlertsKeys } from '../services/alerts/keys.js';
import { AlertStore } from '../services/alerts/store.js';
import type { AuditEntry } from '../shared/audit/audit-entry.js';
import { alertMessage } from './alerts.js';
import { bearer, eventually, get, post, received, startTwoHubs, stateOf, trail, trailOnce, type TwoHubs } from './two-hubs.js';

/** demo-child-1 (Ailsa Morrison): Edinburgh social work's own record of her, and her CHI. */
const SUBJECT = { local: 'demo-child-1', chi: '1403231206' };

let hubs: TwoHubs;

beforeAll(async () => {
  hubs = await startTwoHubs();
}, 120_000);

afterAll(async () => {
  await hubs?.stop();
});

/** The cut of an accepted message the Lothian hub sends for one recipient (what it forwards for a peer's agency). */
async function lothianMessageTo(hub: RunningHub, id: string, agencyId: string): Promise<Bundle> {
  const message = await new AlertStore(hub.deps.redis, new AlertsKeys(hub.deps.keys)).message(id);
  if (!message) throw new Error(`no message ${id} at the Lothian hub`);
  return minimisedMessage(message.bundle as Bundle, { agencyId, agencyType: 'emergency-department', categories: ['alert', 'np-lp-contact'], seq: 1 });
}

describe('alerts across the partnership boundary, hub to hub', () => {
  let messageId: string;

  it('delivers an Edinburgh social work child-protection alert to VHK A&E through the Fife hub, exactly once, audited on both sides', async () => {
    const { lothian, fife } = hubs;
    const raise = alertMessage({ sender: 'edinburgh-social-work', flagId: 'cp-ailsa', subject: SUBJECT, destinations: ['vhk-emergency', 'rie-emergency'] });
    const res = await post(`${lothian.config.urls.alerts}/fhir/$process-message`, await bearer(lothian, 'edinburgh-social-work'), JSON.stringify(raise));
    expect(res.status).toBe(200);
    const statusUrl = res.headers['content-location'] as string;
    messageId = statusUrl.split('/').pop()!;

    // At Lothian: VHK's delivery is acknowledged — by the Fife hub, once it had accepted it.
    const reader = await bearer(lothian, 'edinburgh-social-work');
    await eventually('both deliveries acknowledged at Lothian', async () => {
      const status = (await get(statusUrl, reader)).body as Parameters;
      return stateOf(status, 'vhk-emergency') === 'acknowledged' && stateOf(status, 'rie-emergency') === 'acknowledged' ? true : undefined;
    });

    // At Fife: VHK's system received it from the Fife hub, exactly once; Lothian's simulator never saw it.
    const atVhk = await eventually('VHK receives the alert from the Fife hub', async () => {
      const messages = await received(fife, 'vhk-emergency');
      return messages.length > 0 ? messages : undefined;
    });
    expect(atVhk).toHaveLength(1);
    expect(await received(lothian, 'vhk-emergency')).toEqual([]);
    expect(await received(lothian, 'rie-emergency')).toHaveLength(1);

    // Audited on both sides, as crossing the boundary (MA-L5).
    const forwardToFife = (e: AuditEntry) => e.event.includes(`${fife.config.urls.alerts}/fhir/$process-message`);
    const crossingForVhk = (e: AuditEntry) => e.event.includes('vhk-emergency') && e.criteria.split(',').includes('MA-L5');
    const deliveredToVhk = (e: AuditEntry) => e.event.includes('vhk-emergency') && e.event.includes('Delivered to vhk-emergency');
    const lothianTrail = await trailOnce(lothian, 'the forward audited at Lothian', (t) => t.some(forwardToFife) && t.some(crossingForVhk));
    expect(lothianTrail.filter(forwardToFife).length).toBeGreaterThanOrEqual(1);
    expect(lothianTrail.some(crossingForVhk)).toBe(true);
    // The forward's acceptance is committed with it and relayed to the trail by a pass after the answer (the outbox), the
    // delivery's records by the worker's: neither is assumed there before the other — both waited for.
    const acceptedForward = (e: AuditEntry) => e.event.includes('$process-message (forwarded)') && e.outcome === '0';
    const fifeTrail = await trailOnce(fife, 'the forward’s acceptance and its delivery to VHK audited at Fife', (t) => t.some(deliveredToVhk) && t.some(acceptedForward));
    const accepted = fifeTrail.filter(acceptedForward);
    expect(accepted).toHaveLength(1);
    expect(accepted[0]!.criteria.split(',')).toEqual(expect.arrayContaining(['MA-L5', 'IM-L4', 'IM-L5']));
    expect(fifeTrail.some(deliveredToVhk)).toBe(true);
  });

  it('answers a forwarded message sent again (the origin retried) with the same answer, never a second alert', async () => {
    const { lothian, fife } = hubs;
    const stored = await lothianMessageTo(lothian, messageId, 'vhk-emergency');
    const body = JSON.stringify(stored);
    const key = loadSigningKey(await readFile(lothian.config.token.signingKeyFile), 'ES256');
    const { token } = signDeliveryToken({ messageId: stored.entry![0]!.resource!.id!, recipient: 'fife-hscp', body }, key, 'lothian-hscp');
    const again = await post(`${fife.config.urls.alerts}/fhir/$process-message`, `Bearer ${token}`, body);
    expect(again.status).toBe(200);
    expect(parseResponseMessage(again.body)).toMatchObject({ code: 'ok', requestHeaderId: stored.entry![0]!.resource!.id });
    await new Promise((r) => setTimeout(r, 500));
    expect(await received(fife, 'vhk-emergency')).toHaveLength(1);
  });

  it('forwards the close to the same recipient through the Fife hub, which closes its copy of the alert', async () => {
    const { lothian, fife } = hubs;
    const close = alertMessage({ sender: 'edinburgh-social-work', flagId: 'cp-ailsa', event: 'alert-closed', status: 'inactive', subject: SUBJECT });
    const res = await post(`${lothian.config.urls.alerts}/fhir/$process-message`, await bearer(lothian, 'edinburgh-social-work'), JSON.stringify(close));
    expect(res.status).toBe(200);
    const messages = await eventually('VHK receives the close', async () => {
      const all = await received(fife, 'vhk-emergency');
      return all.length === 2 ? all : undefined;
    });
    expect(messages.map((m) => m.messageId)).toHaveLength(2);
    expect(new Set(messages.map((m) => m.messageId)).size).toBe(2);
    const atFife = forwardedFlagIdOf('lothian-hscp', 'edinburgh-social-work', flagIdOf('edinburgh-social-work', 'cp-ailsa'), ['vhk-emergency']);
    expect(await new AlertStore(fife.deps.redis, new AlertsKeys(fife.deps.keys)).flag(atFife)).toMatchObject({ status: 'inactive', recipients: ['vhk-emergency'] });
  });

  it('refuses (403) what the Fife hub’s own ISP does not allow, and a sender not of the forwarding hub’s partnership: both sides must allow it', async () => {
    const { lothian, fife } = hubs;
    const key = loadSigningKey(await readFile(lothian.config.token.signingKeyFile), 'ES256');
    const forward = async (message: Bundle) => {
      const body = JSON.stringify(message);
      const { token } = signDeliveryToken({ messageId: message.entry![0]!.resource!.id!, recipient: 'fife-hscp', body }, key, 'lothian-hscp');
      return post(`${fife.config.urls.alerts}/fhir/$process-message`, `Bearer ${token}`, body);
    };
    // Signed by the Lothian hub, but the cross-boundary ISP never lets social work send child-protection alerts to education.
    const toEducation = await forward(alertMessage({ sender: 'edinburgh-social-work', subject: SUBJECT, destinations: ['fife-education'] }));
    expect(toEducation.status).toBe(403);
    expect(JSON.stringify(toEducation.body)).toMatch(/This partnership's ISP does not let edinburgh-social-work/);
    // The Lothian hub cannot speak for a Fife agency.
    const asFife = await forward(alertMessage({ sender: 'nhs-fife', subject: SUBJECT, destinations: ['vhk-emergency'] }));
    expect(asFife.status).toBe(403);
    expect(JSON.stringify(asFife.body)).toMatch(/forwards only its own agencies' alerts/);
    expect(await received(fife, 'fife-education')).toEqual([]);
  });

  it('refuses (401) a forwarded message signed by a key no peer hub registers, and audits the refusal', async () => {
    const { fife } = hubs;
    const forged = alertMessage({ sender: 'edinburgh-social-work', subject: SUBJECT, destinations: ['vhk-emergency'] });
    const body = JSON.stringify(forged);
    const pem = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
    const { token } = signDeliveryToken({ messageId: forged.entry![0]!.resource!.id!, recipient: 'fife-hscp', body }, loadSigningKey(pem, 'ES256'), 'lothian-hscp');
    const requestId = `forged-${randomUUID()}`;
    const res = await sendHttp({
      method: 'POST',
      url: `${fife.config.urls.alerts}/fhir/$process-message`,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/fhir+json', 'x-request-id': requestId },
      body,
    });
    expect(res.status).toBe(401);
    expect(res.body).toMatchObject({ resourceType: 'OperationOutcome' });
    const refusal = (await trail(fife)).filter((e) => e.requestId === requestId);
    expect(refusal).toHaveLength(1);
    expect(refusal[0]!.outcome).toBe('4');
    expect(refusal[0]!.criteria.split(',')).toContain('SI-L3');
  });
});
