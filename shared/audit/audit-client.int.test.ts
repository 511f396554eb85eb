import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { appendAuditEntries, readAuditEntries, readAuditEvents, RedisAuditSink } from './audit-client.js';
import { auditStreamKey } from './audit-stream.js';
import { AUDIT_ENTRY_FIELDS } from './audit-entry.js';
import { criteriaOfEvent, toAuditEntry, toAuditEvent } from './audit-event.js';
import type { ExchangeRecord } from './exchange.js';
import { OperationOutcomeError } from '../fhir/outcome.js';
import { createLogger } from '../log.js';
import { connectRedis, KeySpace } from '../redis/connection.js';
import { deletePrefix, testRedis, testRedisUrl, uniquePrefix } from '../../test/redis.js';
import { startRedisProcess } from '../../test/redis-process.js';

const log = createLogger('audit-client-test', 'silent');

function exchange(requestId: string, overrides: Partial<ExchangeRecord> = {}): ExchangeRecord {
  return {
    requestId,
    service: 'mpi',
    type: 'rest',
    subtype: 'create',
    action: 'C',
    outcome: '0',
    httpStatus: 201,
    method: 'POST',
    path: '/fhir/Patient',
    agent: { clientId: 'nhs-sys', agency: 'nhs-lothian' },
    subject: `Patient/${requestId}`,
    entities: [],
    criteria: [],
    ...overrides,
  };
}

describe('RedisAuditSink', () => {
  let redis: Redis;
  const prefix = uniquePrefix('audit');
  let keyCount = 0;
  /** A fresh namespace per test, so each reads only its own stream. */
  const freshKeys = () => new KeySpace(`${prefix}-${++keyCount}`);

  beforeAll(() => {
    redis = testRedis();
  });

  afterAll(async () => {
    for (let i = 1; i <= keyCount; i++) await deletePrefix(redis, `${prefix}-${i}`);
    redis.disconnect();
  });

  it('names the stream with one Cluster hash tag', () => {
    expect(auditStreamKey(new KeySpace('is'))).toBe('is:{audit}:stream');
  });

  it('records events that read back in order, with their outcome and criteria', async () => {
    const keys = freshKeys();
    const sink = new RedisAuditSink(redis, keys, { log });
    const ids = [
      await sink.record(exchange('r1', { criteria: ['MI-L4'] })),
      await sink.record(exchange('r2', { outcome: '4', httpStatus: 403, outcomeDescription: 'ISP does not allow this flow' })),
      await sink.record(exchange('r3', { criteria: ['MI-L3', 'SI-L3'] })),
    ];
    const events = await readAuditEvents(redis, keys);
    expect(events.map((e) => e.id)).toEqual(ids);
    expect(events.map((e) => e.event.entity?.at(-1)?.what?.identifier?.value)).toEqual(['r1', 'r2', 'r3']);
    expect(events.map((e) => criteriaOfEvent(e.event))).toEqual([['MI-L4'], [], ['MI-L3', 'SI-L3']]);
    expect(events[1]?.event.outcome).toBe('4');
    expect(events[1]?.event.outcomeDesc).toBe('ISP does not allow this flow');
    expect(events.every((e) => e.event.recorded)).toBe(true);
  });

  it('stores an entry as one field (layout 4): its fields in order as one JSON object, the event last in its stored form, read back in full', async () => {
    const keys = freshKeys();
    const sink = new RedisAuditSink(redis, keys, { log, now: () => new Date('2026-03-02T10:15:00.000Z') });
    const id = await sink.record(exchange('r1', { service: 'alerts', criteria: ['MA-L4', 'MA-L3'] }));
    const raw = await redis.xrange(auditStreamKey(keys), '-', '+');
    expect(raw.map(([rawId]) => rawId)).toEqual([id]);
    expect(raw[0]?.[1][0]).toBe('entry');
    expect(Object.keys(JSON.parse(raw[0]![1][1]!) as object)).toEqual([...AUDIT_ENTRY_FIELDS]);
    // The event's fixed parts are references into the audit vocabulary; readers get the full event.
    expect(raw[0]![1][1]).toContain('"type":{"#":');
    const [event] = await readAuditEvents(redis, keys);
    expect(event).toEqual({ id, event: toAuditEvent(exchange('r1', { service: 'alerts', criteria: ['MA-L4', 'MA-L3'], recorded: '2026-03-02T10:15:00.000Z' })) });
    const read = await readAuditEntries(redis, keys);
    expect(read[0]?.entry).toMatchObject({
      v: '4',
      recorded: '2026-03-02T10:15:00.000Z',
      service: 'alerts',
      outcome: '0',
      criteria: 'MA-L3,MA-L4',
      requestId: 'r1',
      agency: 'nhs-lothian',
      subject: 'Patient/r1',
    });
  });

  it('recordMany keeps input order across batches and pipelines, and returns the ids in that order', async () => {
    const keys = freshKeys();
    const sink = new RedisAuditSink(redis, keys, { log, batchSize: 7 });
    const records = Array.from({ length: 160 }, (_, i) => exchange(`bulk-${i}`, { criteria: i % 2 ? ['MI-L4'] : [] }));
    const ids = await sink.recordMany(records);
    expect(ids).toHaveLength(160);
    const read = await readAuditEntries(redis, keys, { count: 1000 });
    expect(read.map((r) => r.id)).toEqual(ids);
    expect(read.map((r) => r.entry.requestId)).toEqual(records.map((r) => r.requestId));
    expect(read.filter((r) => r.entry.criteria === 'MI-L4')).toHaveLength(80);
    expect(await sink.recordMany([])).toEqual([]);
  });

  it('pages through the stream with sinceId and count', async () => {
    const keys = freshKeys();
    const sink = new RedisAuditSink(redis, keys, { log });
    await sink.recordMany(['a', 'b', 'c', 'd', 'e'].map((r) => exchange(r)));
    const first = await readAuditEvents(redis, keys, { count: 2 });
    const rest = await readAuditEvents(redis, keys, { sinceId: first.at(-1)?.id });
    expect([...first, ...rest].map((e) => e.event.entity?.at(-1)?.what?.identifier?.value)).toEqual(['a', 'b', 'c', 'd', 'e']);
  });

  it('appends a retried write only once', async () => {
    const keys = freshKeys();
    const record = { ...exchange('retry'), recorded: '2026-03-02T10:15:00.000Z' };
    const entry = toAuditEntry(record, toAuditEvent(record));
    const writeId = randomUUID();
    const first = await appendAuditEntries(redis, keys, [entry, entry], writeId);
    const again = await appendAuditEntries(redis, keys, [entry, entry], writeId);
    expect(again).toEqual(first);
    expect(await redis.xlen(auditStreamKey(keys))).toBe(2);
  });

  it('rejects with 503 on a closed connection instead of dropping the record silently', async () => {
    const keys = freshKeys();
    const closed = connectRedis(testRedisUrl());
    await closed.quit();
    const sink = new RedisAuditSink(closed, keys, { log });
    const failure = await sink.record(exchange('lost')).catch((err: unknown) => err);
    expect(failure).toBeInstanceOf(OperationOutcomeError);
    expect((failure as OperationOutcomeError).status).toBe(503);
    await expect(sink.recordMany([exchange('lost-too')])).rejects.toBeInstanceOf(OperationOutcomeError);
    expect(await redis.exists(auditStreamKey(keys))).toBe(0);
  });

  it('gives up within its deadline when Redis cannot be reached, rather than hold the response for ever', async () => {
    const keys = freshKeys();
    // Nothing listens on port 1: the connection keeps reconnecting and is never ready.
    // disconnectTimeout: ioredis otherwise holds a 2 s timer after disconnecting a socket that never opened.
    const unreachable = connectRedis('redis://127.0.0.1:1', { retryStrategy: () => 50, disconnectTimeout: 0 });
    unreachable.on('error', () => undefined);
    try {
      const sink = new RedisAuditSink(unreachable, keys, { log, deadlineMs: 200 });
      await expect(sink.record(exchange('unreachable'))).rejects.toMatchObject({ status: 503 });
    } finally {
      unreachable.disconnect();
    }
    expect(await redis.exists(auditStreamKey(keys))).toBe(0);
  });

  it('rides out a connection that becomes ready within the deadline, and records once', async () => {
    const keys = freshKeys();
    const late = connectRedis(testRedisUrl(), { lazyConnect: true });
    try {
      const sink = new RedisAuditSink(late, keys, { log, deadlineMs: 5000 });
      const recording = sink.record(exchange('after-reconnect'));
      setTimeout(() => void late.connect().catch(() => undefined), 50);
      const id = await recording;
      expect((await readAuditEntries(redis, keys)).map((r) => [r.id, r.entry.requestId])).toEqual([[id, 'after-reconnect']]);
    } finally {
      late.disconnect();
    }
  });

  it('records after Redis has lost its script cache (as after a restart)', async () => {
    // On a redis-server of its own: SCRIPT FLUSH empties the whole server's cache, and the test Redis is shared with
    // the suites the other Jest worker runs meanwhile — their scripts' next calls would have met NOSCRIPT at a random moment.
    const own = await startRedisProcess('everysec');
    const ownRedis = connectRedis(own.url);
    try {
      const keys = freshKeys();
      const sink = new RedisAuditSink(ownRedis, keys, { log });
      await sink.record(exchange('before'));
      await ownRedis.script('FLUSH');
      await sink.record(exchange('after'));
      expect((await readAuditEntries(ownRedis, keys)).map((r) => r.entry.requestId)).toEqual(['before', 'after']);
    } finally {
      ownRedis.disconnect();
      await own.stop();
    }
  });

  it('refuses a record with a criterion code that is not in the catalogue', async () => {
    const keys = freshKeys();
    const sink = new RedisAuditSink(redis, keys, { log });
    await expect(sink.record(exchange('bad', { criteria: ['ZZ-L9'] }))).rejects.toThrow(RangeError);
    expect(await redis.exists(auditStreamKey(keys))).toBe(0);
  });
});
