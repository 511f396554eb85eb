/**
 * The index write lock (index-lock.ts): one holder at a time, callers served in
 * order of arrival within a process and between processes (two IndexLocks on
 * two connections stand for two MPI processes), and neither a crashed holder
 * nor a crashed waiter blocks the index for good.
 */
import type { Redis } from 'ioredis';
import { KeySpace } from '../../shared/redis/connection.js';
import { isOperationOutcomeError } from '../../shared/fhir/outcome.js';
import { deletePrefix, testRedis, uniquePrefix } from '../../test/redis.js';
import { IndexLock, type IndexLockKeys } from './index-lock.js';
import { MpiKeys } from './keys.js';

let redisA: Redis;
let redisB: Redis;
let prefix: string;
let keys: IndexLockKeys;

beforeAll(() => {
  redisA = testRedis();
  redisB = testRedis();
});

beforeEach(() => {
  prefix = uniquePrefix('mpi-lock');
  const k = new MpiKeys(new KeySpace(prefix));
  keys = { lock: k.writeLock, queue: k.writeLockQueue, seen: k.writeLockSeen };
});

afterEach(async () => {
  await deletePrefix(redisA, prefix);
});

afterAll(async () => {
  await redisA.quit();
  await redisB.quit();
});

/** A promise with its resolver, to hold the lock until the test lets go. */
function gate() {
  let open = () => {};
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { open, opened };
}

/** Waits until `check` holds (Redis state changes asynchronously). */
async function until(check: () => Promise<boolean>): Promise<void> {
  while (!(await check())) await new Promise((resolve) => setTimeout(resolve, 2));
}

const queued = (n: number) => async () => (await redisA.zcard(keys.queue)) === n;

describe('index write lock', () => {
  it('runs one holder at a time', async () => {
    const lock = new IndexLock(redisA, keys);
    let inside = 0;
    let most = 0;
    await Promise.all(
      Array.from({ length: 8 }, () =>
        lock.run(async () => {
          most = Math.max(most, ++inside);
          await new Promise((resolve) => setTimeout(resolve, 1));
          inside--;
        }),
      ),
    );
    expect(most).toBe(1);
  });

  it('serves the callers of one process in the order they arrived', async () => {
    const lock = new IndexLock(redisA, keys);
    const first = gate();
    const order: number[] = [];
    const holder = lock.run(() => first.opened);
    const waiters = Array.from({ length: 6 }, (_, i) => lock.run(async () => void order.push(i)));
    first.open();
    await Promise.all([holder, ...waiters]);
    expect(order).toEqual([0, 1, 2, 3, 4, 5]);
  });

  it('hands the lock straight to the next caller of the same process when no other process waits: one call to Redis per turn, not two', async () => {
    // Counts the lock's script calls on its connection once the first holder has it.
    let scripts = 0;
    const counted = testRedis();
    const evalsha = counted.evalsha.bind(counted);
    counted.evalsha = ((...args: Parameters<typeof evalsha>) => {
      scripts++;
      return evalsha(...args);
    }) as typeof counted.evalsha;
    const lock = new IndexLock(counted, keys);
    const first = gate();
    const holder = lock.run(() => first.opened);
    await until(async () => (await redisA.exists(keys.lock)) === 1);
    scripts = 0;
    const holders: (string | null)[] = [];
    const waiters = Array.from({ length: 5 }, () => lock.run(async () => void holders.push(await redisA.get(keys.lock))));
    first.open();
    await Promise.all([holder, ...waiters]);
    // Each turn held the lock in Redis (its own token), and nobody holds it after the last.
    expect(new Set(holders).size).toBe(5);
    expect(holders).not.toContain(null);
    expect(await redisA.exists(keys.lock)).toBe(0);
    // Five hand-overs (the first holder's and four waiters') and the last one's release; asking again would be five more.
    expect(scripts).toBe(6);
    await counted.quit();
  });

  it('serves callers of two processes in the order they arrived, not whoever asks most often', async () => {
    const a = new IndexLock(redisA, keys);
    const b = new IndexLock(redisB, keys);
    const first = gate();
    const order: string[] = [];
    const holder = a.run(() => first.opened);
    await until(async () => (await redisA.exists(keys.lock)) === 1);
    // b1 asks Redis first; a1 and a2 queue behind a's holder, then a1 asks Redis; then b2.
    const b1 = b.run(async () => void order.push('b1'));
    await until(queued(1));
    const a1 = a.run(async () => void order.push('a1'));
    const a2 = a.run(async () => void order.push('a2'));
    const b2 = b.run(async () => void order.push('b2'));
    first.open();
    await Promise.all([holder, b1, a1, a2, b2]);
    // a1 (released by a's holder at once) must still let b1, which asked first, go ahead.
    expect(order.indexOf('b1')).toBeLessThan(order.indexOf('a1'));
    expect(order.indexOf('a1')).toBeLessThan(order.indexOf('a2'));
    expect(order.indexOf('b1')).toBeLessThan(order.indexOf('b2'));
  });

  it('a caller that waited past its limit gets 503 and leaves the queue, so the next one is not held up', async () => {
    const a = new IndexLock(redisA, keys);
    const b = new IndexLock(redisB, keys);
    const first = gate();
    const holder = a.run(() => first.opened);
    await until(async () => (await redisA.exists(keys.lock)) === 1);
    const impatient = b.run(async () => 'ran', { waitMs: 30 }).catch((err: unknown) => err);
    const refused = await impatient;
    expect(isOperationOutcomeError(refused) && refused.status).toBe(503);
    expect(await redisA.zcard(keys.queue)).toBe(0);
    first.open();
    await holder;
    expect(await b.run(async () => 'ran')).toBe('ran');
  });

  it('passes over a waiter that stopped asking (a crashed process) and a holder whose lease ran out', async () => {
    // A waiter that queued long ago and never asked again, and a holder that died holding the lock.
    await redisA.zadd(keys.queue, 1, 'gone-waiter');
    await redisA.hset(keys.seen, 'gone-waiter', 1);
    await redisA.set(keys.lock, 'dead-holder', 'PX', 50);
    const lock = new IndexLock(redisA, keys);
    expect(await lock.run(async () => 'ran')).toBe('ran');
    expect(await redisA.zcard(keys.queue)).toBe(0);
    expect(await redisA.exists(keys.lock)).toBe(0);
  });
});
