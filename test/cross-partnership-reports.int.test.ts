/**
 * Dead letters across the partnership boundary (issue 11 items 3 and 7): Edinburgh social work raises an alert at
 * the Lothian hub for VHK A&E, which the Fife hub serves; the Lothian hub forwards it, the Fife hub accepts it and
 * delivers it to VHK — which refuses it (`fatal-error`). The Fife hub holds the dead letter and relays its report
 * back to the Lothian hub, signed with its own key; the Lothian hub checks it is about a message it forwarded there
 * and delivers its own report to Edinburgh social work's endpoint — exactly once, audited on both sides, also when
 * the Lothian hub was down while the Fife hub tried.
 */
import { generateKeyPairSync } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { Bundle, MessageHeader, Parameters, ParametersParameter } from 'fhir/r4.js';
import { loadSigningKey, type SigningKey } from '../shared/auth/keys.js';
import { signDeliveryToken } from '../shared/messaging/delivery-token.js';
import { parseResponseMessage } from '../shared/messaging/response-message.js';
import type { RunningHub } from '../services/hub.js';
import { deadLetterReport } from '../services/alerts/domain/dead-letter-report.js';
import { deadLetterReportIdOf, relayedReportIdOf } from '../services/alerts/domain/ids.js';
import { addressedMessage } from '../services/alerts/domain/minimise.js';
import { forwardedMessageIdOf } from '../services/alerts/domain/peer-hubs.js';
import { AlertsKeys } from '../services/alerts/keys.js';
import { AlertStore } from '../services/alerts/store.js';
import { redriveRequest } from '../services/alerts/operations/peer-redrive.js';
import type { AuditEntry } from '../shared/audit/audit-entry.js';
import { alertMessage } from './alerts.js';
import { deadRelaysCommand } from '../cli/commands/dead-relays.js';
import { testRedisUrl } from './redis.js';
import { bearer, eventually, get, misdirectHubEndpoint, pointHubEndpointAt, post, startTwoHubs, stateOf, trail, trailOnce, type TwoHubs } from './two-hubs.js';

const SENDER = 'edinburgh-social-work';
const VHK = 'vhk-emergency';
const SUBJECT = { local: 'demo-child-1', chi: '1403231206' };
/** A child in the Fife hub's index (demo-child-4, whose Named Person is at Fife). */
const FIFE_CHILD = { chi: '0909202117' };

let hubs: TwoHubs;

beforeAll(async () => {
  // Short retry delays: VHK's refusals and the relay's retries while the Lothian hub is down come round quickly.
  hubs = await startTwoHubs({ INFOSHARE_ALERTS_RETRY_BASE_DELAY: '100ms' });
}, 120_000);

afterAll(async () => {
  await hubs?.stop();
});

const storeOf = (hub: RunningHub) => new AlertStore(hub.deps.redis, new AlertsKeys(hub.deps.keys));

async function behave(hub: RunningHub, agencyId: string, behaviour: Record<string, unknown>): Promise<void> {
  const res = await fetch(`${hub.config.urls['agency-sim']}/agencies/${agencyId}/behaviour`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify(behaviour) });
  expect(res.status).toBe(200);
}

interface Received {
  readonly messageId: string;
  readonly receiveCount: number;
  readonly message: Bundle;
}

async function receivedBy(hub: RunningHub, agencyId: string): Promise<Received[]> {
  const res = await get(`${hub.config.urls['agency-sim']}/agencies/${agencyId}/received?count=1000`);
  return (res.body as { messages?: Received[] }).messages ?? [];
}

/** The dead-letter reports an agency's system received, with their `deadLetter` parts. */
async function reportsAt(hub: RunningHub, agencyId: string): Promise<(Received & { parts: ParametersParameter[] })[]> {
  return (await receivedBy(hub, agencyId))
    .filter((m) => (m.message.entry?.[0]?.resource as MessageHeader).eventCoding?.code === 'delivery-dead-letter')
    .map((m) => ({ ...m, parts: (m.message.entry?.[1]?.resource as Parameters).parameter?.[0]?.part ?? [] }));
}

const part = (parts: readonly ParametersParameter[], name: string) => parts.find((p) => p.name === name);

/** Raises an alert from Edinburgh social work to VHK alone at the Lothian hub: its header id and the Lothian message id. */
async function raiseToVhk(flagId: string): Promise<{ headerId: string; messageId: string }> {
  const raise = alertMessage({ sender: SENDER, flagId, subject: SUBJECT, destinations: [VHK] });
  const res = await post(`${hubs.lothian.config.urls.alerts}/fhir/$process-message`, await bearer(hubs.lothian, SENDER), JSON.stringify(raise));
  expect(res.status).toBe(200);
  return { headerId: raise.entry![0]!.resource!.id!, messageId: (res.headers['content-location'] as string).split('/').pop()! };
}

/** The ids the Fife hub gives the forwarded message and its dead letter's report, and the Lothian hub the relayed report. */
function idsOf(messageId: string) {
  const atFife = forwardedMessageIdOf('lothian-hscp', SENDER, messageId, [VHK]);
  const fifeReport = deadLetterReportIdOf(atFife, VHK, 0);
  return { atFife, fifeReport, lothianReport: relayedReportIdOf('fife-hscp', fifeReport) };
}

/** POSTs a Bundle to the Lothian hub as the Fife hub relays it: with a delivery token signed by the Fife hub's key. */
async function relayAsFife(bundle: Bundle) {
  const body = JSON.stringify(bundle);
  const key = loadSigningKey(await readFile(hubs.fife.config.token.signingKeyFile), 'ES256');
  const { token } = signDeliveryToken({ messageId: bundle.entry![0]!.resource!.id!, recipient: 'lothian-hscp', body }, key, 'fife-hscp');
  return post(`${hubs.lothian.config.urls.alerts}/fhir/$process-message`, `Bearer ${token}`, body);
}

describe('dead letters of forwarded alerts, reported back to the originating hub', () => {
  afterEach(async () => {
    await behave(hubs.fife, VHK, { mode: 'ok' });
  });

  it("reports VHK's refusal at the Fife hub to Edinburgh social work's own endpoint through the Lothian hub, once, audited on both sides", async () => {
    const { lothian, fife } = hubs;
    await behave(fife, VHK, { mode: 'fatal' });
    const { headerId, messageId } = await raiseToVhk('cp-relay-refused');
    const { atFife, fifeReport, lothianReport } = idsOf(messageId);

    const [report] = await eventually('the report at the sender’s endpoint', async () => {
      const reports = (await reportsAt(lothian, SENDER)).filter((r) => r.messageId === lothianReport);
      return reports.length > 0 ? reports : undefined;
    }, 30_000);
    expect(report!.receiveCount).toBe(1);
    // About the message as the sender knows it at its own hub, the refusal as VHK gave it, held at the Fife hub.
    expect(part(report!.parts, 'message')?.valueString).toBe(messageId);
    expect(part(report!.parts, 'senderMessage')?.valueString).toBe(headerId);
    expect(part(report!.parts, 'agency')?.valueReference?.reference).toBe(`Organization/${VHK}`);
    expect(part(report!.parts, 'reason')?.valueString).toContain('fatal-error');
    expect(part(report!.parts, 'heldBy')?.valueReference?.reference).toBe('Organization/fife-hscp');
    // Re-driven through the sender's own hub (which asks the Fife hub: the next test).
    expect(part(report!.parts, 'redrive')?.valueUrl).toBe(`${lothian.config.urls.alerts}/fhir/$redrive/${messageId}?agency=${VHK}`);
    // Never to the agency directly from the Fife hub: its simulator has nothing for Edinburgh social work.
    expect(await reportsAt(fife, SENDER)).toEqual([]);

    // Both deliveries of the report acknowledged: the relay at Fife (by the Lothian hub), the report at Lothian (by the sender).
    expect((await storeOf(fife).delivery(atFife, VHK))?.state).toBe('dead-letter');
    await eventually('the relay acknowledged at Fife', async () => ((await storeOf(fife).delivery(fifeReport, SENDER))?.state === 'acknowledged' ? true : undefined));
    const status = (await get(`${lothian.config.urls.alerts}/fhir/$delivery-status/${lothianReport}`, await bearer(lothian, SENDER))).body as Parameters;
    expect(stateOf(status, SENDER)).toBe('acknowledged');

    // Audited on both sides: Fife's call to the Lothian hub; Lothian's acceptance of the relay and its change record.
    const relayToLothian = (e: AuditEntry) => e.event.includes(`${lothian.config.urls.alerts}/fhir/$process-message`) && e.event.includes(fifeReport);
    const fifeTrail = await trailOnce(fife, 'the relay to Lothian audited at Fife', (t) => t.some(relayToLothian));
    expect(fifeTrail.some(relayToLothian)).toBe(true);
    // The report's change record is committed with its acceptance and relayed to the trail by a pass after the answer
    // (the outbox): waited for, not assumed there by the time the report was delivered.
    const reportedRecord = (e: AuditEntry) => e.event.includes(`reported to its sender ${SENDER} as message ${lothianReport}`) && e.event.includes('held by the fife-hscp hub');
    const relayRecord = (e: AuditEntry) => e.event.includes('$process-message (relayed dead-letter report)');
    const lothianTrail = await trailOnce(lothian, 'the relay’s acceptance and its change record at Lothian', (t) => t.some(reportedRecord) && t.some(relayRecord));
    const relays = lothianTrail.filter(relayRecord);
    expect(relays.map((e) => e.outcome)).toEqual(['0']);

    // The Fife hub sending the same relay again (it never saw the answer): the same answer, no second report.
    const relayed = await storeOf(fife).message(fifeReport);
    const seq = (await storeOf(fife).delivery(fifeReport, SENDER))!.seq;
    const again = await relayAsFife(addressedMessage(relayed!.bundle as Bundle, { agencyId: SENDER, seq }));
    expect(again.status).toBe(200);
    expect(parseResponseMessage(again.body)).toMatchObject({ code: 'ok', requestHeaderId: fifeReport });
    await new Promise((r) => setTimeout(r, 500));
    expect((await reportsAt(lothian, SENDER)).filter((r) => part(r.parts, 'message')?.valueString === messageId)).toHaveLength(1);
  });

  it('re-drives the dead letter the Fife hub holds when the sender asks its own hub: dies again → a new report; delivered → none', async () => {
    const { lothian, fife } = hubs;
    await behave(fife, VHK, { mode: 'fatal' });
    const { messageId } = await raiseToVhk('cp-relay-redrive');
    const { atFife, lothianReport } = idsOf(messageId);
    const reportsAbout = async () => (await reportsAt(lothian, SENDER)).filter((r) => part(r.parts, 'message')?.valueString === messageId);
    await eventually('the first report', async () => ((await reportsAbout()).length === 1 ? true : undefined), 30_000);
    const sender = await bearer(lothian, SENDER);
    const redrive = () => post(`${lothian.config.urls.alerts}/fhir/$redrive/${messageId}?agency=${VHK}`, sender, '');

    // VHK still refuses: the re-driven letter dies again at Fife and is reported again, under a new id.
    expect((await redrive()).status).toBe(202);
    const secondReport = relayedReportIdOf('fife-hscp', deadLetterReportIdOf(atFife, VHK, 1));
    await eventually('the second report', async () => ((await reportsAbout()).some((r) => r.messageId === secondReport) ? true : undefined), 30_000);

    // VHK takes it now: re-driven once more, delivered once, and not reported.
    await behave(fife, VHK, { mode: 'ok' });
    const res = await redrive();
    expect(res.status).toBe(202);
    await eventually('the re-driven delivery acknowledged at Fife', async () => ((await storeOf(fife).delivery(atFife, VHK))?.state === 'acknowledged' ? true : undefined), 30_000);
    expect((await receivedBy(fife, VHK)).filter((m) => m.messageId === atFife).map((m) => m.receiveCount)).toEqual([1]);
    await new Promise((r) => setTimeout(r, 500));
    expect((await reportsAbout()).map((r) => r.messageId).sort()).toEqual([lothianReport, secondReport].sort());
    // Nothing left to re-drive at Fife: its 409 passed on; another agency is told the message does not exist.
    const again = await redrive();
    expect(again.status).toBe(409);
    expect(JSON.stringify(again.body)).toMatch(/The fife-hscp hub: .*not a dead letter/);
    expect((await post(`${lothian.config.urls.alerts}/fhir/$redrive/${messageId}?agency=${VHK}`, await bearer(lothian, 'nhs-lothian'), '')).status).toBe(404);

    // Audited on both sides: Lothian's call to the Fife hub, Fife's re-drive for the Lothian hub's sender.
    const calls = (await trail(lothian)).filter((e) => e.event.includes(`${fife.config.urls.alerts}/fhir/$redrive/${messageId}`));
    expect(calls.map((e) => e.outcome)).toEqual(['0', '0', '4']);
    const fifeTrail = await trail(fife);
    expect(fifeTrail.filter((e) => e.event.includes('$redrive (asked by a peer hub)') && e.outcome === '0')).toHaveLength(2);
    expect(fifeTrail.some((e) => e.event.includes(`Re-driven by the lothian-hscp hub for ${SENDER}: the delivery to ${VHK} is pending again`))).toBe(true);
  }, 90_000);

  it('refuses a relayed report about a message it never forwarded there (404) or about an agency not of the relaying partnership (403)', async () => {
    const { lothian } = hubs;
    const report = (over: { messageId?: string; agencyId?: string; senderHeaderId: string }) =>
      addressedMessage(
        deadLetterReport({
          reportId: `dlr-test-${over.senderHeaderId}`,
          senderAgency: SENDER,
          senderHeaderId: over.senderHeaderId,
          event: 'alert-raised',
          flagId: 'flag-x',
          baseUrl: 'http://fife.example/fhir',
          messageId: over.messageId ?? 'msg-at-fife',
          agencyId: over.agencyId ?? VHK,
          deadAt: new Date().toISOString(),
          reason: 'refused',
        }),
        { agencyId: SENDER, seq: 1 },
      );
    const unknown = await relayAsFife(report({ senderHeaderId: 'msg-never-sent' }));
    expect(unknown.status).toBe(404);
    // A message Lothian did send, but the dead letter named is a Lothian agency's: not Fife's to report.
    const { messageId } = await raiseToVhk('cp-relay-not-fifes');
    const notFifes = await relayAsFife(report({ senderHeaderId: messageId, agencyId: 'rie-emergency' }));
    expect(notFifes.status).toBe(403);
    expect(JSON.stringify(notFifes.body)).toMatch(/reports only the dead letters of its own agencies/);
    const refusals = (await trail(lothian)).filter((e) => e.event.includes('$process-message (relayed dead-letter report)') && e.outcome === '4');
    expect(refusals.length).toBeGreaterThanOrEqual(2);
  });

  it('refuses at the Fife hub a re-drive not signed by a peer hub (401) or for a sender not of the asking partnership (403)', async () => {
    const { lothian, fife } = hubs;
    const ask = async (key: SigningKey, sender: string) => {
      const body = JSON.stringify(redriveRequest(sender, VHK));
      const { token } = signDeliveryToken({ messageId: 'msg-any', recipient: 'fife-hscp', body }, key, 'lothian-hscp');
      return post(`${fife.config.urls.alerts}/fhir/$redrive/msg-any`, `Bearer ${token}`, body);
    };
    const forged = loadSigningKey(generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' }), 'ES256');
    expect((await ask(forged, SENDER)).status).toBe(401);
    const lothianKey = loadSigningKey(await readFile(lothian.config.token.signingKeyFile), 'ES256');
    const forFife = await ask(lothianKey, 'nhs-fife');
    expect(forFife.status).toBe(403);
    expect(JSON.stringify(forFife.body)).toMatch(/asks only for its own agencies/);
  });

  it("lets the Fife hub's operator re-drive a relay that died there (the Lothian hub refused it): the report then arrives once", async () => {
    const { lothian, fife } = hubs;
    // The Fife directory names a wrong address for the Lothian hub: what the Fife hub relays there is refused (a 4xx).
    await misdirectHubEndpoint(fife, 'lothian-hscp', `${lothian.config.urls.plans}/fhir`);
    let ids: ReturnType<typeof idsOf>;
    try {
      await behave(fife, VHK, { mode: 'fatal' });
      ids = idsOf((await raiseToVhk('cp-relay-dies')).messageId);
      await eventually('the relay dead at Fife', async () => ((await storeOf(fife).delivery(ids.fifeReport, SENDER))?.state === 'dead-letter' ? true : undefined), 30_000);
    } finally {
      await pointHubEndpointAt(fife, 'lothian-hscp', lothian);
    }
    const { atFife, fifeReport, lothianReport } = ids;

    // On the Fife hub's host, its operator lists it: the report, to whom, through which hub, why it died, about what.
    const fifeHost = { ...process.env, REDIS_URL: testRedisUrl(), INFOSHARE_KEY_PREFIX: fife.config.keyPrefix };
    const runAs = async (partnership: string, ...args: string[]) => {
      const out: string[] = [];
      const code = await deadRelaysCommand([...args, '--partnership', partnership], { out: (t) => out.push(t), err: (t) => out.push(t) }, fifeHost);
      return { code, out: out.join('\n') };
    };
    const run = (...args: string[]) => runAs('fife-hscp', ...args);
    const listed = await run('list', '--json');
    expect(listed.code).toBe(0);
    const relay = (JSON.parse(listed.out) as { deadRelays: { reportId: string }[] }).deadRelays.find((r) => r.reportId === fifeReport);
    expect(relay).toMatchObject({ sender: SENDER, partnership: 'lothian-hscp', attempts: 1, about: { agency: VHK } });
    expect(relay).toHaveProperty('reason', expect.stringMatching(/HTTP 4\d\d/));
    expect(await reportsAt(lothian, SENDER)).not.toContainEqual(expect.objectContaining({ messageId: lothianReport }));

    // Only a relay this hub made is its operator's: the dead forward itself is VHK's sender's to re-drive, and Fife's
    // data read as the Lothian hub's (a wrong --partnership) holds no relay of Lothian's — each refused, saying why.
    expect(await run('redrive', atFife)).toMatchObject({ code: 1, out: expect.stringContaining(`✘ ${atFife} not re-driven, nothing done: ${atFife} is not a dead-letter report`) });
    const asLothian = await runAs('lothian-hscp', 'redrive', fifeReport);
    expect(asLothian).toMatchObject({ code: 1, out: expect.stringContaining(`✘ ${fifeReport} not re-driven, nothing done: ${fifeReport} reports to ${SENDER}, an agency of lothian-hscp whose hub is not a peer of the lothian-hscp hub`) });
    expect((await runAs('lothian-hscp', 'list')).out).not.toContain(fifeReport);
    expect((await storeOf(fife).delivery(fifeReport, SENDER))?.state).toBe('dead-letter');

    // The Lothian hub's address put right, the operator re-drives it: delivered once, through the Lothian hub.
    const redriven = await run('redrive', fifeReport);
    expect(redriven).toMatchObject({ code: 0, out: expect.stringContaining(`✔ ${fifeReport} pending again`) });
    const reports = await eventually('the report at the sender’s endpoint', async () => {
      const got = (await reportsAt(lothian, SENDER)).filter((r) => r.messageId === lothianReport);
      return got.length > 0 ? got : undefined;
    }, 30_000);
    expect(reports.map((r) => r.receiveCount)).toEqual([1]);
    expect(part(reports[0]!.parts, 'heldBy')?.valueReference?.reference).toBe('Organization/fife-hscp');
    await eventually('the relay acknowledged at Fife', async () => ((await storeOf(fife).delivery(fifeReport, SENDER))?.state === 'acknowledged' ? true : undefined));
    expect((await storeOf(fife).delivery(atFife, VHK))?.state).toBe('dead-letter');

    // Nothing more to re-drive: named again, it is refused (exit 1) and left alone; the list no longer has it.
    expect(await run('redrive', fifeReport)).toMatchObject({ code: 1, out: expect.stringContaining(`✘ ${fifeReport} not re-driven, nothing done: ${fifeReport} is acknowledged, not a dead letter`) });
    expect((await run('list')).out).not.toContain(fifeReport);
    // Audited on both sides: the operator's re-drive at Fife; one relay accepted at Lothian.
    const byOperator = (e: AuditEntry) => e.event.includes(`Re-driven by this hub's operator (infoshare dead-relays redrive): the delivery to ${SENDER} is pending again`);
    const fifeTrail = await trailOnce(fife, 'the operator’s re-drive audited at Fife', (t) => t.some(byOperator));
    expect(fifeTrail.filter(byOperator)).toHaveLength(1);
    const accepted = (await trail(lothian)).filter((e) => e.event.includes('$process-message (relayed dead-letter report)') && e.event.includes(fifeReport) && e.outcome === '0');
    expect(accepted).toHaveLength(1);
  }, 90_000);

  it("refuses, as not a relay, a dead report to a peer's agency about that agency's own message (a hub run over another partnership's data)", async () => {
    const { fife } = hubs;
    // At the Fife hub, Fife social work's own alert to VHK dies (refused), and so does its report (its endpoint refuses it too).
    const FIFE_SENDER = 'fife-social-work';
    let reportId: string;
    try {
      await behave(fife, VHK, { mode: 'fatal' });
      await behave(fife, FIFE_SENDER, { mode: 'fatal' });
      const raise = alertMessage({ sender: FIFE_SENDER, flagId: 'cp-fife-own', subject: FIFE_CHILD, destinations: [VHK] });
      const res = await post(`${fife.config.urls.alerts}/fhir/$process-message`, await bearer(fife, FIFE_SENDER), JSON.stringify(raise));
      expect(res.status).toBe(200);
      const messageId = (res.headers['content-location'] as string).split('/').pop()!;
      reportId = deadLetterReportIdOf(messageId, VHK, 0);
      await eventually('the report dead at Fife', async () => ((await storeOf(fife).delivery(reportId, FIFE_SENDER))?.state === 'dead-letter' ? true : undefined), 30_000);
    } finally {
      await behave(fife, FIFE_SENDER, { mode: 'ok' });
    }

    // Read as the Lothian hub's (a wrong --partnership on the Fife hub's host), Fife social work is a peer's agency and the
    // report passes that check, but the message it is about was Fife social work's own, not one the Fife hub forwarded.
    const fifeHost = { ...process.env, REDIS_URL: testRedisUrl(), INFOSHARE_KEY_PREFIX: fife.config.keyPrefix };
    const asLothian = async (...args: string[]) => {
      const out: string[] = [];
      const code = await deadRelaysCommand([...args, '--partnership', 'lothian-hscp'], { out: (t) => out.push(t), err: (t) => out.push(t) }, fifeHost);
      return { code, out: out.join('\n') };
    };
    const redriven = await asLothian('redrive', reportId);
    expect(redriven.code).toBe(1);
    expect(redriven.out).toContain(`✘ ${reportId} not re-driven, nothing done: ${reportId} is not about a message the fife-hscp hub forwarded to the lothian-hscp hub`);
    const listed = await asLothian('list', '--json');
    expect(listed.code).toBe(0);
    expect((JSON.parse(listed.out) as { deadRelays: { reportId: string }[] }).deadRelays.map((r) => r.reportId)).not.toContain(reportId);
    // Nothing changed: still Fife social work's dead letter, for it to re-drive.
    expect((await storeOf(fife).delivery(reportId, FIFE_SENDER))?.state).toBe('dead-letter');
  });

  it('keeps retrying the relay while the Lothian hub is down, and the report arrives once after it is back', async () => {
    // VHK answers transient errors until the Lothian hub is down, then refuses: the report is made while it is down.
    await behave(hubs.fife, VHK, { mode: 'transient' });
    const { messageId } = await raiseToVhk('cp-relay-down');
    const { fifeReport, lothianReport } = idsOf(messageId);
    const sender = await bearer(hubs.lothian, SENDER);
    await eventually('the forward accepted by the Fife hub', async () => {
      const status = (await get(`${hubs.lothian.config.urls.alerts}/fhir/$delivery-status/${messageId}`, sender)).body as Parameters;
      return stateOf(status, VHK) === 'acknowledged' ? true : undefined;
    });

    await hubs.restart('lothian-hscp', async () => {
      await behave(hubs.fife, VHK, { mode: 'fatal' });
      await eventually(
        'the relay failing while the Lothian hub is down',
        async () => {
          const relay = await storeOf(hubs.fife).delivery(fifeReport, SENDER);
          return relay && relay.attempts >= 2 && relay.state === 'pending' ? relay : undefined;
        },
        30_000,
      );
    });

    const reports = await eventually('the report at the sender’s endpoint once the Lothian hub is back', async () => {
      const got = (await reportsAt(hubs.lothian, SENDER)).filter((r) => r.messageId === lothianReport);
      return got.length > 0 ? got : undefined;
      // The relay's next attempt is a full-jitter backoff whose ceiling doubled with each attempt made while the hub was
      // down: after a restart of T seconds (long on a busy machine) it can come up to about 2T seconds later.
    }, 150_000);
    expect(reports).toHaveLength(1);
    expect(reports[0]!.receiveCount).toBe(1);
    await eventually('the relay acknowledged at Fife', async () => ((await storeOf(hubs.fife).delivery(fifeReport, SENDER))?.state === 'acknowledged' ? true : undefined));
    // One relay accepted at Lothian, however many attempts the Fife hub made.
    const accepted = (await trail(hubs.lothian)).filter((e) => e.event.includes('$process-message (relayed dead-letter report)') && e.event.includes(fifeReport) && e.outcome === '0');
    expect(accepted).toHaveLength(1);
  }, 300_000);
});
