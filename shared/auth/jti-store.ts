/**
 * Replay protection for client assertions: each `jti` is accepted once per
 * client, and remembered until the assertion could no longer be accepted anyway
 * (its `exp` plus the clock tolerance), after which Redis forgets it by itself.
 */
import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { KeySpace } from '../redis/connection.js';

export interface JtiStore {
  /**
   * Records a jti; true when it is new, false when it was seen before (a replay).
   * `forgetAfterMs` is the epoch time in ms after which a replay could not verify any more.
   */
  remember(clientId: string, jti: string, forgetAfterMs: number): Promise<boolean>;
}

/** Shortest time a jti is kept, so an already-expired timestamp never makes Redis drop it at once. */
const MIN_KEEP_MS = 1000;

/** When a jti remembered now may be forgotten (epoch ms): `forgetAfterMs`, but never sooner than `MIN_KEEP_MS` from `nowMs`. */
export function jtiExpiryMs(forgetAfterMs: number, nowMs: number): number {
  return Math.max(Math.ceil(forgetAfterMs), nowMs + MIN_KEEP_MS);
}

/**
 * Sets `key` unless it exists, until `expireAtMs`: true when this call set it.
 * One atomic `SET key <nonce> NX GET PXAT`, so two concurrent uses cannot both
 * win — and the value is a nonce of this call, so when the connection dropped
 * after Redis had run the command (a Redis crash right after its AOF write) and
 * the client sent it again on reconnecting (ioredis re-sends unanswered
 * commands), the second run finds this call's own nonce and still answers true:
 * a first use is never taken for its own replay.
 */
export async function setOnce(redis: Redis, key: string, expireAtMs: number): Promise<boolean> {
  const nonce = randomUUID();
  const before = await redis.set(key, nonce, 'PXAT', expireAtMs, 'NX', 'GET');
  return before === null || before === nonce;
}

/**
 * `SET <prefix>:{auth}:jti:<clientId>:<jti> <nonce> NX GET PXAT <ms>` (`setOnce`) — one atomic
 * command, so two concurrent uses of one assertion cannot both win.
 * Parts are URI-encoded so a `:` inside a jti cannot collide with another client's key.
 */
export class RedisJtiStore implements JtiStore {
  constructor(
    private readonly redis: Redis,
    private readonly keys: KeySpace,
    private readonly now: () => number = Date.now,
  ) {}

  key(clientId: string, jti: string): string {
    return this.keys.key('auth', 'jti', encodeURIComponent(clientId), encodeURIComponent(jti));
  }

  async remember(clientId: string, jti: string, forgetAfterMs: number): Promise<boolean> {
    return setOnce(this.redis, this.key(clientId, jti), jtiExpiryMs(forgetAfterMs, this.now()));
  }
}
