/**
 * Replay protection for client assertions: each `jti` is accepted once per
 * client, and remembered until the assertion could no longer be accepted anyway
 * (its `exp` plus the clock tolerance), after which Redis forgets it by itself.
 */
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

/**
 * `SET <prefix>:{auth}:jti:<clientId>:<jti> 1 NX PXAT <ms>` — one atomic
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
    const at = Math.max(Math.ceil(forgetAfterMs), this.now() + MIN_KEEP_MS);
    const result = await this.redis.set(this.key(clientId, jti), '1', 'PXAT', at, 'NX');
    return result === 'OK';
  }
}
