/**
 * The index write lock (see MpiStore.withIndexLock), first come first served.
 *
 * Two levels, both FIFO. Within a process, callers queue in memory: one at a
 * time asks Redis, and a release hands the turn straight to the next caller
 * (no sleep between two chunks of the same process). Between processes, the
 * callers asking Redis queue in a sorted set by arrival time: a free lock goes
 * to the head of that queue. Before, every waiter polled with exponential
 * backoff, so a newcomer (short first pause) kept beating a caller that had
 * waited long (long pauses): one bulk Bundle waited 33 s behind the others.
 *
 * The lock itself is a key holding the holder's token with a lease, so a
 * crashed holder frees it; a crashed waiter stops renewing its place in the
 * queue and is passed over once its last renewal is older than STALE_MS.
 */
import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import { unavailable } from '../../shared/fhir/outcome.js';
import { LuaScript } from '../../shared/redis/lua-script.js';

export interface IndexLockKeys {
  /** String: the holder's token (with the lease as its expiry). */
  readonly lock: string;
  /** Sorted set: waiting tokens, scored by arrival (ms, Redis clock). */
  readonly queue: string;
  /** Hash: waiting token → when it last asked (ms, Redis clock). */
  readonly seen: string;
}

export interface IndexLockOptions {
  /** How long to wait for the lock before giving up with 503. */
  readonly waitMs?: number;
  /** The lease: a crashed holder's lock frees itself after this. Far above one chunk's work (~0.3 s). */
  readonly leaseMs?: number;
}

/** A waiter that has not asked for this long is taken for gone (it asks every POLL_MAX_MS at most). */
const STALE_MS = 3_000;
const POLL_MAX_MS = 16;

// Takes the lock for ARGV[1] if it is free and ARGV[1] heads the queue (or the queue is
// empty); otherwise queues ARGV[1] (once, at its first arrival) and notes that it asked.
// Heads that stopped asking are dropped. KEYS: lock, queue, seen. ARGV: token, lease ms, stale ms.
// Returns 1 when the caller holds the lock.
const ACQUIRE_LUA = new LuaScript(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local holder = redis.call('GET', KEYS[1])
if holder == ARGV[1] then return 1 end
if not holder then
  while true do
    local head = redis.call('ZRANGE', KEYS[2], 0, 0)[1]
    if not head or head == ARGV[1] then
      redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
      if head then
        redis.call('ZREM', KEYS[2], head)
        redis.call('HDEL', KEYS[3], head)
      end
      return 1
    end
    local seen = tonumber(redis.call('HGET', KEYS[3], head) or '0')
    if now - seen <= tonumber(ARGV[3]) then break end
    redis.call('ZREM', KEYS[2], head)
    redis.call('HDEL', KEYS[3], head)
  end
end
redis.call('ZADD', KEYS[2], 'NX', now, ARGV[1])
redis.call('HSET', KEYS[3], ARGV[1], now)
return 0
`);

// Releases the lock only if this holder still has it (its lease may have expired).
const RELEASE_LUA = new LuaScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`);

// Hands the lock from its holder (ARGV[1]) straight to the next caller of the same process (token
// ARGV[2], lease ARGV[3] ms) when no other process is queued for it; otherwise releases it, so the
// processes queued come first as ever. Saves a registration chunk the round trip of asking for the
// lock again. KEYS: lock, queue. Returns 1 when handed over.
const HAND_OVER_LUA = new LuaScript(`
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
if redis.call('ZCARD', KEYS[2]) > 0 then
  redis.call('DEL', KEYS[1])
  return 0
end
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
return 1
`);

// A waiter that gives up leaves the queue. KEYS: queue, seen. ARGV: token.
const LEAVE_LUA = new LuaScript(`
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('HDEL', KEYS[2], ARGV[1])
return 0
`);

/** A caller of this process waiting for its turn: woken with the lock's token when the previous holder handed it over. */
interface Waiter {
  readonly wake: (handedToken?: string) => void;
  readonly leaseMs: number;
}

export class IndexLock {
  /** True while a caller of this process holds the lock or is asking Redis for it. */
  private busy = false;
  private readonly waiting: Waiter[] = [];

  constructor(
    private readonly redis: Redis,
    private readonly keys: IndexLockKeys,
  ) {}

  /** Runs `fn` holding the lock; 503 when it could not be had within `waitMs`. */
  async run<T>(fn: () => Promise<T>, options: IndexLockOptions = {}): Promise<T> {
    const waitMs = options.waitMs ?? 60_000;
    const leaseMs = options.leaseMs ?? 30_000;
    const deadline = Date.now() + waitMs;
    const handed = await this.takeTurn(deadline, leaseMs);
    let next: string | undefined;
    try {
      const token = handed ?? (await this.acquire(leaseMs, deadline));
      try {
        return await fn();
      } finally {
        next = await this.release(token);
      }
    } finally {
      this.passTurn(next);
    }
  }

  /** Waits for this process's earlier callers (in order of arrival); the lock's token if the last one handed it over. */
  private async takeTurn(deadline: number, leaseMs: number): Promise<string | undefined> {
    if (!this.busy) {
      this.busy = true;
      return undefined;
    }
    return new Promise<string | undefined>((resolve, reject) => {
      const waiter: Waiter = {
        leaseMs,
        wake: (handedToken) => {
          clearTimeout(timer);
          resolve(handedToken);
        },
      };
      const timer = setTimeout(() => {
        const at = this.waiting.indexOf(waiter);
        if (at >= 0) this.waiting.splice(at, 1);
        reject(busyIndex());
      }, Math.max(0, deadline - Date.now()));
      this.waiting.push(waiter);
    });
  }

  /**
   * Lets go of the lock: straight to the next caller of this process when one waits and no
   * other process is queued (returns the token it now holds), otherwise back to Redis.
   */
  private async release(token: string): Promise<string | undefined> {
    const next = this.waiting[0];
    if (!next) {
      await RELEASE_LUA.run(this.redis, [this.keys.lock], [token]);
      return undefined;
    }
    const handed = randomBytes(12).toString('hex');
    const kept = await HAND_OVER_LUA.run(this.redis, [this.keys.lock, this.keys.queue], [token, handed, next.leaseMs]);
    return kept === 1 ? handed : undefined;
  }

  /** The next caller of this process gets the turn (with the lock, when it was handed over), or none is waiting. */
  private passTurn(handedToken: string | undefined): void {
    const next = this.waiting.shift();
    if (next) return next.wake(handedToken);
    this.busy = false;
    // The caller it was kept for gave up meanwhile: nobody holds it now.
    if (handedToken) void RELEASE_LUA.run(this.redis, [this.keys.lock], [handedToken]).catch(() => undefined);
  }

  /** Asks Redis until this caller heads the queue and the lock is free; returns the holder token. */
  private async acquire(leaseMs: number, deadline: number): Promise<string> {
    const token = randomBytes(12).toString('hex');
    const keys = [this.keys.lock, this.keys.queue, this.keys.seen];
    let pause = 1;
    while ((await ACQUIRE_LUA.run(this.redis, keys, [token, leaseMs, STALE_MS])) !== 1) {
      if (Date.now() > deadline) {
        await LEAVE_LUA.run(this.redis, [this.keys.queue, this.keys.seen], [token]);
        throw busyIndex();
      }
      await new Promise((resolve) => setTimeout(resolve, pause));
      pause = Math.min(pause * 2, POLL_MAX_MS);
    }
    return token;
  }
}

function busyIndex() {
  return unavailable('The index is busy with other registrations; please retry');
}
