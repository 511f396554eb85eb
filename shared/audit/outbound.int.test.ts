import type { AddressInfo } from 'node:net';
import { createServer, type Server } from 'node:http';
import type { Redis } from 'ioredis';
import { createLogger } from '../log.js';
import { KeySpace } from '../redis/connection.js';
import { deletePrefix, testRedis, uniquePrefix } from '../../test/redis.js';
import { readAuditEvents, RedisAuditSink } from './audit-client.js';
import { criteriaOfEvent, requestDetailsOfEvent } from './audit-event.js';
import { auditedCall, type OutboundCall } from './outbound.js';

const log = createLogger('outbound-test', 'silent');


describe('auditedCall', () => {
  let redis: Redis;
  let server: Server;
  let base: string;
  const prefix = uniquePrefix('outbound');
  let n = 0;
  const freshKeys = () => new KeySpace(`${prefix}-${++n}`);

  beforeAll(async () => {
    redis = testRedis();
    // An agency endpoint: accepts /ok, refuses /refuse.
    server = createServer((req, res) => {
      res.statusCode = req.url === '/ok' ? 200 : 422;
      res.end('{}');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    for (let i = 1; i <= n; i++) await deletePrefix(redis, `${prefix}-${i}`);
    await new Promise((resolve) => server.close(resolve));
    redis.disconnect();
  });

  const call = (url: string): OutboundCall => ({
    requestId: 'req-alert-1',
    service: 'alerts',
    agent: { agency: 'nhs-lothian' },
    subtype: 'deliver',
    method: 'POST',
    url,
    recipientAgency: 'edinburgh-social-work',
    subject: 'Patient/demo-child-1',
    dataCategory: 'alerts',
    criteria: ['MA-L3'],
  });
  const post = async (url: string) => {
    const res = await fetch(url, { method: 'POST' });
    return { status: res.status, value: await res.text() };
  };

  it('records a delivered call as a transmit to the receiving agency, with the URL and status and the request it was for', async () => {
    const keys = freshKeys();
    const sink = new RedisAuditSink(redis, keys, { log });
    const answered = await auditedCall(sink, call(`${base}/ok`), () => post(`${base}/ok`));
    expect(answered.status).toBe(200);
    const [event] = (await readAuditEvents(redis, keys)).map((e) => e.event);
    expect(event?.subtype?.some((c) => c.code === 'transmit')).toBe(true);
    expect(event?.outcome).toBe('0');
    expect(criteriaOfEvent(event!)).toEqual(['MA-L3']);
    expect(event?.agent.some((a) => a.who?.reference === 'Organization/edinburgh-social-work')).toBe(true);
    expect(requestDetailsOfEvent(event!)).toMatchObject({ trigger: 'outbound', method: 'POST', url: `${base}/ok`, status: '200' });
    expect(event?.entity?.find((e) => e.what?.identifier)?.what?.identifier?.value).toBe('req-alert-1');
  });

  it('records a refusal by the receiver without criteria, and a call that never connected as a failure', async () => {
    const keys = freshKeys();
    const sink = new RedisAuditSink(redis, keys, { log });
    await auditedCall(sink, call(`${base}/refuse`), () => post(`${base}/refuse`));
    await expect(auditedCall(sink, call('http://127.0.0.1:1/nowhere'), () => post('http://127.0.0.1:1/nowhere'))).rejects.toThrow();
    const [refused, failed] = (await readAuditEvents(redis, keys)).map((e) => e.event);
    expect(refused?.outcome).toBe('4');
    expect(criteriaOfEvent(refused!)).toEqual([]);
    expect(requestDetailsOfEvent(refused!).status).toBe('422');
    expect(failed?.outcome).toBe('8');
    expect(failed?.outcomeDesc).toMatch(/^The call failed/);
    expect(requestDetailsOfEvent(failed!).status).toBeUndefined();
  });
});
