/**
 * The delivery worker in processes of its own (INFOSHARE_ALERTS_DELIVERY_PROCESSES):
 * the alerts service forks them, they deliver over real HTTP with the hub's
 * signed delivery token, each delivery acknowledged once, they run below the
 * service's CPU priority with a larger young generation, and they stop with the service.
 */
import { once } from 'node:events';
import fs from 'node:fs';
import os from 'node:os';
import type { AddressInfo } from 'node:net';
import http from 'node:http';
import type { Bundle, MessageHeader } from 'fhir/r4.js';
import { staticKeyResolver } from '../../shared/auth/jwks-resolver.js';
import { publicJwks } from '../../shared/auth/keys.js';
import { verifyDeliveryToken } from '../../shared/messaging/delivery-token.js';
import { buildResponseMessage } from '../../shared/messaging/response-message.js';
import { DELIVERY_SEMI_SPACE_MB } from './delivery-processes.js';
import { alertMessage, startTestAlerts, type TestAlerts } from '../../test/alerts.js';

const SENDER = 'edinburgh-social-work';
const RECIPIENTS = ['nhs-lothian', 'rie-emergency'];

let alerts: TestAlerts;
let server: http.Server;
let receiverBase: string;
/** Message id → agencies it was delivered to (every verified delivery, repeats included). */
const received: { agency: string; messageId: string }[] = [];

beforeAll(async () => {
  alerts = await startTestAlerts({ INFOSHARE_ALERTS_DELIVERY_PROCESSES: '1', INFOSHARE_ALERTS_DELIVERY_TIMEOUT: '2s' });
  await alerts.mpi.registered(SENDER, 'demo-child-1', { given: ['Ailsa'], family: 'Morrison', birthDate: '2023-03-14', gender: 'female', postcode: 'EH6 8BN', chi: '1403231206' });
  const resolveKey = staticKeyResolver(publicJwks([alerts.mpi.dir.signingKey]));
  server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      void (async () => {
        const body = Buffer.concat(chunks);
        const agency = /^\/agencies\/([^/]+)\/fhir\/\$process-message$/.exec(req.url ?? '')?.[1] ?? '';
        const token = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
        const verified = await verifyDeliveryToken(token, body, resolveKey, { issuer: alerts.config.token.issuer, recipient: agency });
        if (!verified.ok) {
          res.writeHead(401).end();
          return;
        }
        const header = (JSON.parse(body.toString('utf8')) as Bundle).entry?.[0]?.resource as MessageHeader;
        received.push({ agency, messageId: verified.claims.message_id });
        const response = buildResponseMessage({ requestHeaderId: header.id ?? '', code: 'ok', source: { agency }, destination: { agency: 'hub' } });
        res.writeHead(200, { 'Content-Type': 'application/fhir+json' }).end(JSON.stringify(response));
      })();
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  receiverBase = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const store = alerts.mpi.dir.store;
  for (const agency of RECIPIENTS) {
    const endpoint = await store.read('Endpoint', `${agency}-fhir`);
    await store.update({ ...endpoint, status: 'active', address: `${receiverBase}/agencies/${agency}/fhir` }, { cause: { requestId: 'test-connect', agent: {} } });
  }
});

afterAll(async () => {
  server.closeAllConnections();
  server.close();
  await alerts.close();
});

it('delivers from a delivery worker process of its own: every recipient acknowledged, each message received once', async () => {
  const messageIds: string[] = [];
  for (let i = 0; i < 3; i++) {
    const res = await alerts.post(SENDER, alertMessage({ sender: SENDER, subject: { local: 'demo-child-1' }, destinations: RECIPIENTS }));
    expect(res.status).toBe(200);
    messageIds.push((res.headers['content-location'] as string).split('/$delivery-status/')[1]!);
  }
  const deadline = Date.now() + 30_000;
  for (;;) {
    const deliveries = (await Promise.all(messageIds.map((id) => alerts.ctx.store.deliveries(id, RECIPIENTS)))).flat();
    if (deliveries.length === messageIds.length * RECIPIENTS.length && deliveries.every((d) => d.state === 'acknowledged')) break;
    if (Date.now() > deadline) throw new Error(`not all acknowledged: ${JSON.stringify(deliveries.map((d) => d.state))}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  for (const messageId of messageIds) {
    for (const agency of RECIPIENTS) expect(received.filter((r) => r.messageId === messageId && r.agency === agency)).toHaveLength(1);
  }
});

it('runs its delivery worker process below the service’s CPU priority (10 by default), every thread of it', async () => {
  const expected = Math.min(19, os.getPriority() + 10);
  const deadline = Date.now() + 20_000;
  let nices: number[];
  for (;;) {
    const workers = childPidsOf(process.pid).filter((pid) => commandOf(pid).includes('delivery-process'));
    expect(workers).toHaveLength(1);
    // The process lowers itself as it starts: until then its threads keep the service's priority.
    nices = fs.readdirSync(`/proc/${workers[0]}/task`).map((tid) => os.getPriority(Number(tid)));
    if (nices.every((n) => n === expected) || Date.now() > deadline) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  expect(nices.length).toBeGreaterThan(1);
  expect(new Set(nices)).toEqual(new Set([expected]));
});

it('runs its delivery worker process with 64 MB young-generation semi-spaces', () => {
  const workers = childPidsOf(process.pid).filter((pid) => commandOf(pid).includes('delivery-process'));
  expect(workers).toHaveLength(1);
  expect(commandOf(workers[0]!).split('\0')).toContain(`--max-semi-space-size=${DELIVERY_SEMI_SPACE_MB}`);
});

function childPidsOf(pid: number): number[] {
  return fs.readdirSync(`/proc/${pid}/task`).flatMap((tid) => fs.readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number));
}

function commandOf(pid: number): string {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8');
  } catch {
    return '';
  }
}
