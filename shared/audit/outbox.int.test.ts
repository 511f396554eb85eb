import type { Organization } from 'fhir/r4.js';
import { setTimeout as sleep } from 'node:timers/promises';
import { jest } from '@jest/globals';
import type { Redis } from 'ioredis';
import { Registry } from 'prom-client';
import { KeySpace } from '../redis/connection.js';
import { createLogger } from '../log.js';
import { ResourceStore } from '../store/resource-store.js';
import { defineResourceType, identifiersOf, tokenParam } from '../store/search-params.js';
import { deletePrefix, testRedis, uniquePrefix } from '../../test/redis.js';
import { readAuditEntries, readAuditEvents } from './audit-client.js';
import { entryArgs, fullEventText, parseAuditEntry } from './audit-entry.js';
import { auditStreamKey } from './audit-stream.js';
import { requestDetailsOfEvent, toAuditEvent } from './audit-event.js';
import { changeRecord, outboxEntryArgs, outboxKey, stageChangeRecord } from './outbox.js';
import { OutboxRelay, relayBatch, relayLeaseKey } from './outbox-relay.js';

const log = createLogger('outbox-test', 'silent');
const organizationType = defineResourceType('Organization', [tokenParam('identifier', (r) => identifiersOf(r.identifier))]);
const cause = { requestId: 'req-outbox-1', agent: { clientId: 'nhs-lothian', agency: 'nhs-lothian' } };


describe('audit outbox', () => {
  let redis: Redis;
  const prefix = uniquePrefix('outbox');
  let n = 0;
  const freshKeys = () => new KeySpace(`${prefix}-${++n}`);

  beforeAll(() => {
    redis = testRedis();
  });

  afterAll(async () => {
    for (let i = 1; i <= n; i++) await deletePrefix(redis, `${prefix}-${i}`);
    redis.disconnect();
  });

  it('commits a change and its record in one MULTI, and the relay moves the record to the audit stream', async () => {
    const keys = freshKeys();
    const relay = new OutboxRelay(redis, keys, { log }).watch(outboxKey(keys, 'things'));
    const multi = redis.multi().hset(keys.key('things', 'cur'), 'thing-1', '{}');
    stageChangeRecord(multi, keys, 'things', changeRecord({ ...cause, service: 'mpi' }, { subtype: 'create', action: 'C', entities: [{ reference: 'Thing/thing-1' }] }, 'things'));
    await multi.exec();

    expect(await relay.flush()).toBe(1);
    const events = await readAuditEvents(redis, keys);
    expect(events).toHaveLength(1);
    const event = events[0]!.event;
    expect(event.entity?.some((e) => e.what?.reference === 'Thing/thing-1')).toBe(true);
    expect(requestDetailsOfEvent(event).trigger).toBe('change');
    expect(requestDetailsOfEvent(event).store).toBe('things');
    // No HTTP facts are invented for a change record.
    expect(requestDetailsOfEvent(event).method).toBeUndefined();
    expect(event.entity?.find((e) => e.what?.identifier?.value)?.what?.identifier?.value).toBe('req-outbox-1');
    expect(await redis.xlen(outboxKey(keys, 'things'))).toBe(0);
  });

  it('relays an outbox written across the upgrades to layouts 3 and 4 — nine-field entries, then one-field ones — in order', async () => {
    const keys = freshKeys();
    const outbox = outboxKey(keys, 'things');
    const record = (i: number) => changeRecord({ ...cause, requestId: `req-upgrade-${i}`, service: 'mpi' }, { subtype: 'update', action: 'U', entities: [{ reference: `Thing/u${i}` }] }, 'things');
    // Written before the upgrade: the same entry as nine stream fields (`v` 2).
    for (const i of [0, 1]) await redis.xadd(outbox, '*', ...entryArgs({ ...parseAuditEntry(outboxEntryArgs(record(i))), v: '2' }));
    for (const i of [2, 3]) await redis.xadd(outbox, '*', ...outboxEntryArgs(record(i)));
    await redis.xadd(outbox, '*', ...entryArgs({ ...parseAuditEntry(outboxEntryArgs(record(4))), v: '2' }));
    // Written in session 17: one field, the event in full (`v` 3).
    const written3 = parseAuditEntry(outboxEntryArgs(record(5)));
    await redis.xadd(outbox, '*', ...entryArgs({ ...written3, v: '3', event: fullEventText(written3) }));
    expect(await new OutboxRelay(redis, keys, { log }).watch(outbox).flush()).toBe(6);
    const entries = await readAuditEntries(redis, keys);
    expect(entries.map((e) => [e.entry.requestId, e.entry.v])).toEqual([
      ['req-upgrade-0', '2'],
      ['req-upgrade-1', '2'],
      ['req-upgrade-2', '4'],
      ['req-upgrade-3', '4'],
      ['req-upgrade-4', '2'],
      ['req-upgrade-5', '3'],
    ]);
    // Whatever the layout, the same full event comes out of the trail.
    const events = await readAuditEvents(redis, keys);
    for (const i of [2, 5]) expect(events[i]!.event).toEqual(toAuditEvent({ ...record(i), recorded: events[i]!.event.recorded }));
  });

  it('appends a batch once, however often it is relayed (a relay that died before deleting it)', async () => {
    const keys = freshKeys();
    const outbox = outboxKey(keys, 'things');
    for (let i = 0; i < 3; i++) {
      const multi = redis.multi();
      stageChangeRecord(multi, keys, 'things', changeRecord({ ...cause, service: 'mpi' }, { subtype: 'update', action: 'U', entities: [{ reference: `Thing/t${i}` }] }, 'things'));
      await multi.exec();
    }
    const rows = await redis.xrange(outbox, '-', '+');
    expect(await relayBatch(redis, keys, outbox, rows)).toBe(3);
    expect(await relayBatch(redis, keys, outbox, rows)).toBe(0);
    expect(await relayBatch(redis, keys, outbox, rows.slice(1))).toBe(0);
    expect(await redis.xlen(auditStreamKey(keys))).toBe(3);
  });

  it('loses and duplicates nothing when two relays race over the same outbox', async () => {
    const keys = freshKeys();
    const outbox = outboxKey(keys, 'things');
    const multi = redis.multi();
    for (let i = 0; i < 250; i++) {
      stageChangeRecord(multi, keys, 'things', changeRecord({ ...cause, service: 'mpi' }, { subtype: 'update', action: 'U', entities: [{ reference: `Thing/t${i}` }] }, 'things'));
    }
    await multi.exec();
    const a = new OutboxRelay(redis, keys, { log, batchSize: 40 }).watch(outbox);
    const b = new OutboxRelay(redis, keys, { log, batchSize: 70 }).watch(outbox);
    const [movedA, movedB] = await Promise.all([a.flush(), b.flush()]);
    expect(movedA + movedB).toBe(250);
    const references = (await readAuditEvents(redis, keys, { count: 1000 })).map(({ event }) => event.entity?.[0]?.what?.reference);
    expect(references).toEqual(Array.from({ length: 250 }, (_, i) => `Thing/t${i}`));
    expect(await redis.exists(relayLeaseKey(outbox))).toBe(0);
  });

  const commitThings = async (keys: KeySpace, from: number, count: number) => {
    const multi = redis.multi();
    for (let i = from; i < from + count; i++) {
      stageChangeRecord(multi, keys, 'things', changeRecord({ ...cause, service: 'mpi' }, { subtype: 'update', action: 'U', entities: [{ reference: `Thing/t${i}` }] }, 'things'));
    }
    await multi.exec();
  };

  it('leaves an outbox to the pass of another process that holds its lease, and is done once that pass moved the entries', async () => {
    const keys = freshKeys();
    const outbox = outboxKey(keys, 'things');
    // Another process's pass is under way (its lease), and three records are waiting.
    await redis.set(relayLeaseKey(outbox), 'another-process', 'PX', 60_000);
    await commitThings(keys, 0, 3);
    // This process's relay, on a connection of its own: it asks, finds the lease held, and asks again (waiting).
    const own = testRedis();
    const asked = jest.spyOn(own, 'evalsha');
    const flushed = new OutboxRelay(own, keys, { log }).watch(outbox).flush();
    while (asked.mock.calls.length < 2) await sleep(5);
    expect(await redis.xlen(auditStreamKey(keys))).toBe(0);
    // The holder's pass moves them (nothing of them was appended before it), then this relay is done.
    const rows = await redis.xrange(outbox, '-', '+');
    expect(await relayBatch(redis, keys, outbox, rows)).toBe(3);
    await redis.xdel(outbox, ...rows.map(([id]) => id));
    expect(await flushed).toBe(0);
    own.disconnect();
    await redis.del(relayLeaseKey(outbox));
    const references = (await readAuditEvents(redis, keys)).map(({ event }) => event.entity?.[0]?.what?.reference);
    expect(references).toEqual(['Thing/t0', 'Thing/t1', 'Thing/t2']);
  });

  it('relays an outbox whose lease was left by a pass that died, once the lease lapses', async () => {
    const keys = freshKeys();
    const outbox = outboxKey(keys, 'things');
    await redis.set(relayLeaseKey(outbox), 'a-dead-process', 'PX', 200);
    await commitThings(keys, 0, 2);
    expect(await new OutboxRelay(redis, keys, { log }).watch(outbox).flush()).toBe(2);
    expect(await redis.xlen(outbox)).toBe(0);
    // Given back with the last batch: the next pass, this process's or another's, need not wait.
    expect(await redis.exists(relayLeaseKey(outbox))).toBe(0);
    expect(await redis.xlen(auditStreamKey(keys))).toBe(2);
  });

  describe('an outbox watched after another (the alerts service: accepts, then their deliveries\' moves)', () => {
    const commit = async (keys: KeySpace, tag: string, name: string) => {
      await redis.xadd(outboxKey(keys, tag), '*', ...outboxEntryArgs(changeRecord({ ...cause, service: 'alerts' }, { subtype: 'update', action: 'U', entities: [{ reference: `Thing/${name}` }] }, tag)));
    };
    const trail = async (keys: KeySpace) => (await readAuditEvents(redis, keys, { count: 1000 })).map(({ event }) => event.entity?.[0]?.what?.reference?.slice('Thing/'.length));
    const relayOf = (keys: KeySpace) => new OutboxRelay(redis, keys, { log }).watchAfter(outboxKey(keys, 'steps'), outboxKey(keys, 'accepts'));

    it('appends the earlier outbox\'s entries first, even for a pass asked for the later one alone; a pass of the earlier one alone leaves the later one be', async () => {
      const keys = freshKeys();
      // An accept, its delivery's move (committed after it, as a delivery always is), another accept.
      await commit(keys, 'accepts', 'a0');
      await commit(keys, 'steps', 'd0');
      await commit(keys, 'accepts', 'a1');
      // The delivery process relays its moves: the accepts committed before them go first (counted as theirs, not its).
      expect(await relayOf(keys).flush([outboxKey(keys, 'steps')])).toBe(1);
      expect(await trail(keys)).toEqual(['a0', 'a1', 'd0']);
      // The accepting process relays its own outbox only: a move waiting in the other stays for its relay.
      await commit(keys, 'steps', 'd1');
      await commit(keys, 'accepts', 'a2');
      expect(await relayOf(keys).flush([outboxKey(keys, 'accepts')])).toBe(1);
      expect(await trail(keys)).toEqual(['a0', 'a1', 'd0', 'a2']);
      expect(await redis.xlen(outboxKey(keys, 'steps'))).toBe(1);
      // The timer's pass (every outbox) moves it.
      expect(await relayOf(keys).flush()).toBe(1);
      expect(await trail(keys)).toEqual(['a0', 'a1', 'd0', 'a2', 'd1']);
    });

    it('loses and repeats nothing after a pass that died between relaying the earlier outbox and deleting its own batch', async () => {
      const keys = freshKeys();
      const steps = outboxKey(keys, 'steps');
      await commit(keys, 'accepts', 'a0');
      await commit(keys, 'steps', 'd0');
      await commit(keys, 'steps', 'd1');
      // The dead pass: it held the lease, relayed the accepts, appended its batch, and died before the delete.
      await redis.set(relayLeaseKey(steps), 'a-dead-process', 'PX', 200);
      await new OutboxRelay(redis, keys, { log }).watch(outboxKey(keys, 'accepts')).flush();
      expect(await relayBatch(redis, keys, steps, await redis.xrange(steps, '-', '+'))).toBe(2);
      // Then another accept and another move. The next pass (once the lease lapsed) skips what was appended.
      await commit(keys, 'accepts', 'a1');
      await commit(keys, 'steps', 'd2');
      expect(await relayOf(keys).flush()).toBe(2);
      expect(await trail(keys)).toEqual(['a0', 'd0', 'd1', 'a1', 'd2']);
      expect(await redis.xlen(steps)).toBe(0);
      expect(await redis.xlen(outboxKey(keys, 'accepts'))).toBe(0);
    });
  });

  describe('an audited resource store', () => {
    it('records each write with its cause, and nothing for an unchanged upsert', async () => {
      const keys = freshKeys();
      const relay = new OutboxRelay(redis, keys, { log });
      const store = new ResourceStore(redis, keys, [organizationType], { audit: { service: 'directory', relay } });
      const org: Organization = { resourceType: 'Organization', id: 'org-1', name: 'NHS Lothian' };
      await store.upsert(org, { cause });
      await store.upsert(org, { cause });
      await store.update({ ...org, name: 'NHS Lothian Health Board' }, { cause });
      await store.delete('Organization', 'org-1', { cause });
      const events = (await readAuditEvents(redis, keys)).map(({ event }) => event);
      expect(events.map((e) => e.action)).toEqual(['U', 'U', 'D']);
      expect(events.every((e) => e.entity?.[0]?.what?.reference === 'Organization/org-1')).toBe(true);
      expect(events.every((e) => requestDetailsOfEvent(e).store === 'Organization')).toBe(true);
      await relay.close();
    });

    it('refuses a write that carries no cause, writing nothing', async () => {
      const keys = freshKeys();
      const store = new ResourceStore(redis, keys, [organizationType], { audit: { service: 'directory' } });
      await expect(store.create({ resourceType: 'Organization', id: 'org-2', name: 'x' })).rejects.toThrow(/no cause/);
      await expect(store.read('Organization', 'org-2')).rejects.toMatchObject({ status: 404 });
    });

    it('keeps the change when the audit stream cannot be written, and the trail shows it once the stream is back', async () => {
      const keys = freshKeys();
      // Break the audit stream: a string where the stream should be makes every append fail (WRONGTYPE).
      await redis.set(auditStreamKey(keys), 'not a stream');
      const relay = new OutboxRelay(redis, keys, { log });
      const store = new ResourceStore(redis, keys, [organizationType], { audit: { service: 'directory', relay } });
      const stored: Organization = await store.create({ resourceType: 'Organization', id: 'org-3', name: 'Fife HSCP' }, { cause });
      expect(stored.meta?.versionId).toBe('1');
      // The change stands, and so does its record: waiting in the outbox, not lost.
      expect(await relay.backlog()).toEqual({ [outboxKey(keys, 'fhir:Organization')]: 1 });
      await expect(relay.flush()).rejects.toThrow(/WRONGTYPE/);

      // Monitoring sees the trail is behind.
      const registry = new Registry();
      relay.exportMetrics(registry);
      expect(await registry.metrics()).toContain(`infoshare_audit_outbox_backlog{outbox="${outboxKey(keys, 'fhir:Organization')}"} 1`);

      await redis.del(auditStreamKey(keys));
      expect(await relay.flush()).toBe(1);
      expect(await registry.metrics()).toContain(`infoshare_audit_outbox_backlog{outbox="${outboxKey(keys, 'fhir:Organization')}"} 0`);
      const [only] = await readAuditEvents(redis, keys);
      expect(only?.event.action).toBe('C');
      expect(only?.event.entity?.[0]?.what?.reference).toBe('Organization/org-3');
      expect(await relay.backlog()).toEqual({ [outboxKey(keys, 'fhir:Organization')]: 0 });
    });
  });
});
