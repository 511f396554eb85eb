/**
 * The delivery side of the alerts store against a real Redis: many attempts'
 * claims in one script, and many attempts' moves in one script — each decided
 * and recorded exactly as if it were alone (the worker groups the attempts that
 * start or end together: workers/deliveries.ts).
 */
import { eventOfEntry, parseAuditEntry } from '../../shared/audit/audit-entry.js';
import type { Redis } from 'ioredis';
import { changeRecord } from '../../shared/audit/outbox.js';
import type { ExchangeRecord } from '../../shared/audit/exchange.js';
import { KeySpace } from '../../shared/redis/connection.js';
import { deletePrefix, testRedis, uniquePrefix } from '../../test/redis.js';
import { AlertsKeys, DELIVERY_STORE } from './keys.js';
import { AlertStore, type AcceptedMessage, type DeliveryStep } from './store.js';

const prefix = uniquePrefix('alerts-dstore');
let redis: Redis;
let keys: AlertsKeys;
let store: AlertStore;

beforeAll(() => {
  redis = testRedis();
  keys = new AlertsKeys(new KeySpace(prefix));
  store = new AlertStore(redis, keys);
});

afterAll(async () => {
  await deletePrefix(redis, prefix);
  await redis.quit();
});

const SENDER = 'edinburgh-social-work';
const NOW = Date.parse('2026-12-06T11:00:00Z');

/** A delivery as the accept script leaves it (plus any fields a test sets). */
async function delivery(messageId: string, agency: string, fields: Record<string, string | number> = {}) {
  await redis.hset(keys.delivery(messageId, agency), { messageId, agency, state: 'pending', attempts: 0, seq: 1, createdAt: 'x', updatedAt: 'x', ...fields });
}

function record(requestId: string, what: string): ExchangeRecord {
  return changeRecord({ requestId, service: 'alerts', agent: { clientId: 'hub', agency: SENDER } }, { subtype: '$process-message', action: 'U', entities: [], outcomeDescription: what }, DELIVERY_STORE);
}

/** The request ids of the outbox entries, oldest first, and what each says. */
async function outbox(): Promise<string[]> {
  const entries = await redis.xrange(keys.deliveryOutbox, '-', '+');
  return entries.map(([, flat]) => {
    const entry = parseAuditEntry(flat);
    return `${entry.requestId}: ${eventOfEntry(entry).outcomeDesc ?? ''}`;
  });
}

function step(requestId: string, fields: Partial<DeliveryStep> & Pick<DeliveryStep, 'to'>): DeliveryStep {
  return { from: ['pending'], at: new Date(NOW), sender: SENDER, record: record(requestId, `change ${requestId}`), ...fields };
}

describe('claiming many deliveries in one script', () => {
  it('claims the pending ones and tells each other attempt what it found: settled, claimed by another attempt until when, or missing', async () => {
    await delivery('m1', 'a');
    await delivery('m2', 'a', { state: 'acknowledged' });
    await delivery('m3', 'a', { leaseHolder: 'other-run', leaseUntil: NOW + 5_000 });
    await delivery('m4', 'a', { leaseHolder: 'lapsed-run', leaseUntil: NOW - 1 });
    await delivery('m5', 'a', { leaseHolder: 'me-again', leaseUntil: NOW + 5_000 });

    const results = await store.claimDeliveries(
      [
        { messageId: 'm1', agencyId: 'a', holder: 'run-1' },
        { messageId: 'm2', agencyId: 'a', holder: 'run-2' },
        { messageId: 'm3', agencyId: 'a', holder: 'run-3' },
        { messageId: 'm4', agencyId: 'a', holder: 'run-4' },
        { messageId: 'm5', agencyId: 'a', holder: 'me-again' },
        { messageId: 'nope', agencyId: 'a', holder: 'run-6' },
      ],
      NOW,
      10_000,
    );

    expect(results.map((r) => r.kind)).toEqual(['claimed', 'settled', 'leased', 'claimed', 'claimed', 'missing']);
    expect(results[0]).toMatchObject({ delivery: { messageId: 'm1', state: 'pending' } });
    expect(results[1]).toMatchObject({ delivery: { state: 'acknowledged' } });
    expect(results[2]).toEqual({ kind: 'leased', untilMs: NOW + 5_000 });
    // Claimed: holder and lease end written; another run's live claim and a settled delivery untouched.
    expect(await redis.hmget(keys.delivery('m1', 'a'), 'leaseHolder', 'leaseUntil')).toEqual(['run-1', String(NOW + 10_000)]);
    expect(await redis.hmget(keys.delivery('m4', 'a'), 'leaseHolder', 'leaseUntil')).toEqual(['run-4', String(NOW + 10_000)]);
    expect(await redis.hget(keys.delivery('m3', 'a'), 'leaseHolder')).toBe('other-run');
    expect(await redis.hget(keys.delivery('m2', 'a'), 'leaseHolder')).toBeNull();
  });
});

describe('moving many deliveries on in one script', () => {
  it('applies each move that may happen with all its records, and for one that may not commits only what happened anyway', async () => {
    await redis.del(keys.deliveryOutbox);
    await delivery('s1', 'a', { leaseHolder: 'run-1', leaseUntil: NOW + 5_000 });
    await delivery('s2', 'a', { state: 'acknowledged' });
    await delivery('s3', 'a', { leaseHolder: 'someone-else', leaseUntil: NOW + 5_000 });
    await delivery('s4', 'a', { leaseHolder: 'run-4', leaseUntil: NOW + 5_000 });
    await delivery('s5', 'a', { lastError: 'earlier failure' });

    const results = await store.stepDeliveries([
      // Acknowledged: its change record, its attempt record and the batch's call record.
      { messageId: 's1', agencyId: 'a', step: step('r1', { to: 'acknowledged', countAttempt: true, leaseHolder: 'run-1', withRecords: [record('r1', 'attempt')], happenedRecords: [record('r1', 'call')] }) },
      // Already acknowledged (by pull): nothing moves; the call it made is still recorded.
      { messageId: 's2', agencyId: 'a', step: step('r2', { to: 'dead-letter', withRecords: [record('r2', 'attempt')], happenedRecords: [record('r2', 'call')] }) },
      // Another run holds the claim now: nothing moves.
      { messageId: 's3', agencyId: 'a', step: step('r3', { to: 'acknowledged', leaseHolder: 'run-3', happenedRecords: [record('r3', 'call')] }) },
      // A dead letter, filed under its sender.
      { messageId: 's4', agencyId: 'a', step: step('r4', { to: 'dead-letter', countAttempt: true, leaseHolder: 'run-4', lastError: 'refused' }) },
      // A retry keeps it pending, with its reason and next attempt.
      { messageId: 's5', agencyId: 'a', step: step('r5', { to: 'pending', lastError: 'busy', nextAttemptAt: new Date(NOW + 2_000) }) },
      { messageId: 'gone', agencyId: 'a', step: step('r6', { to: 'acknowledged' }) },
    ]);

    expect(results).toEqual([
      { kind: 'applied', from: 'pending' },
      { kind: 'moved', state: 'acknowledged' },
      { kind: 'lease-lost' },
      { kind: 'applied', from: 'pending' },
      { kind: 'applied', from: 'pending' },
      { kind: 'missing' },
    ]);
    expect(await outbox()).toEqual(['r1: change r1', 'r1: attempt', 'r1: call', 'r2: call', 'r3: call', 'r4: change r4', 'r5: change r5']);

    const s1 = await store.delivery('s1', 'a');
    expect(s1).toMatchObject({ state: 'acknowledged', attempts: 1, acknowledgedAt: new Date(NOW).toISOString() });
    expect(await redis.hget(keys.delivery('s1', 'a'), 'leaseHolder')).toBeNull();
    expect(await store.delivery('s3', 'a')).toMatchObject({ state: 'pending', attempts: 0 });
    expect(await store.delivery('s4', 'a')).toMatchObject({ state: 'dead-letter', lastError: 'refused', attempts: 1 });
    expect((await store.deadLettersOf(SENDER, 0, 10)).letters.map((l) => l.messageId)).toEqual(['s4']);
    expect(await store.delivery('s5', 'a')).toMatchObject({ state: 'pending', lastError: 'busy', nextAttemptAt: new Date(NOW + 2_000).toISOString() });
  });

  it('refuses a response message id already used for another delivery, and still applies the others of the call', async () => {
    await delivery('p1', 'a');
    await delivery('p2', 'a');
    await delivery('p3', 'a');
    const results = await store.stepDeliveries([
      { messageId: 'p1', agencyId: 'a', step: step('q1', { from: ['pending'], to: 'acknowledged', responseId: 'resp-1' }) },
      // The same response message replayed against another delivery in the same call.
      { messageId: 'p2', agencyId: 'a', step: step('q2', { from: ['pending'], to: 'acknowledged', responseId: 'resp-1' }) },
      { messageId: 'p3', agencyId: 'a', step: step('q3', { from: ['pending'], to: 'acknowledged', responseId: 'resp-3' }) },
    ]);
    expect(results).toEqual([{ kind: 'applied', from: 'pending' }, { kind: 'replayed', delivery: 'p1~a' }, { kind: 'applied', from: 'pending' }]);
    expect((await store.delivery('p2', 'a'))?.state).toBe('pending');
  });
});

describe('a dead letter and its report to the sender, in one script', () => {
  /** A report as dead-letter-reports.ts builds it (only what the store reads matters here). */
  function report(id: string): AcceptedMessage {
    return {
      id,
      kind: 'report',
      event: 'delivery-dead-letter',
      sender: SENDER,
      flagId: 'flag-1',
      personId: 'person-1',
      alertCategory: 'child-protection',
      category: 'alert',
      purpose: 'child-protection',
      recipients: [SENDER],
      acceptedAt: new Date(NOW).toISOString(),
      origin: { requestId: 'req-dl', agent: { agency: SENDER } },
      bundle: { resourceType: 'Bundle', type: 'message', id },
      answer: null,
      npLpFromDirectory: false,
    };
  }

  it('accepts the report with the dead letter: its message, its delivery to the sender under the next sequence number, its inbox entry and its unqueued marker', async () => {
    await redis.hset(keys.sequences, SENDER, 41);
    await delivery('d1', 'a', { leaseHolder: 'run-d1', leaseUntil: NOW + 5_000 });
    const [result] = await store.stepDeliveries([
      { messageId: 'd1', agencyId: 'a', step: step('rd1', { to: 'dead-letter', leaseHolder: 'run-d1', lastError: 'refused', report: report('dlr-1'), withRecords: [record('rd1', 'reported')] }) },
    ]);
    expect(result).toEqual({ kind: 'applied', from: 'pending' });
    expect(await store.message('dlr-1')).toMatchObject({ kind: 'report', sender: SENDER, recipients: [SENDER], origin: { requestId: 'req-dl' } });
    expect(await store.delivery('dlr-1', SENDER)).toMatchObject({ state: 'pending', attempts: 0, seq: 42 });
    expect(await store.inboxOf(SENDER, 41, 10)).toEqual([{ messageId: 'dlr-1', seq: 42 }]);
    expect(await store.allUnqueued()).toContain(`dlr-1~${SENDER}`);
    expect((await outbox()).slice(-2)).toEqual(['rd1: change rd1', 'rd1: reported']);

    // The same call again (its answer lost and re-sent): the same answer, and still one report.
    const [again] = await store.stepDeliveries([
      { messageId: 'd1', agencyId: 'a', step: step('rd1', { to: 'dead-letter', leaseHolder: 'run-d1', lastError: 'refused', report: report('dlr-1') }) },
    ]);
    expect(again).toEqual({ kind: 'applied', from: 'pending' });
    expect(await store.lastSequenceOf(SENDER)).toBe(42);
  });

  it('writes no report when the move does not apply, and the others of the call are decided on their own', async () => {
    await delivery('d2', 'a', { state: 'acknowledged' });
    await delivery('d3', 'a');
    const before = await store.lastSequenceOf(SENDER);
    const results = await store.stepDeliveries([
      // Acknowledged by pull meanwhile: no dead letter, so no report.
      { messageId: 'd2', agencyId: 'a', step: step('rd2', { to: 'dead-letter', lastError: 'late', report: report('dlr-2') }) },
      // A step without a report beside one with: the script walks each step's keys.
      { messageId: 'd3', agencyId: 'a', step: step('rd3', { to: 'dead-letter', lastError: 'refused' }) },
      { messageId: 'd3', agencyId: 'b', step: step('rd4', { to: 'acknowledged' }) },
    ]);
    expect(results).toEqual([{ kind: 'moved', state: 'acknowledged' }, { kind: 'applied', from: 'pending' }, { kind: 'missing' }]);
    expect(await store.message('dlr-2')).toBeUndefined();
    expect(await store.lastSequenceOf(SENDER)).toBe(before);
    expect(await store.delivery('d3', 'a')).toMatchObject({ state: 'dead-letter' });
  });

  it('refuses a report addressed to anyone but the sender of the message that died', async () => {
    await delivery('d4', 'a');
    await expect(store.stepDelivery('d4', 'a', step('rd5', { to: 'dead-letter', report: { ...report('dlr-4'), recipients: ['someone-else'] } }))).rejects.toThrow(/sender/);
    expect((await store.delivery('d4', 'a'))?.state).toBe('pending');
  });
});
