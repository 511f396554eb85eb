/** Lua scripts run by SHA (EVALSHA), so Redis caches them and each call sends only the hash. */
import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';

/** A Lua script run by SHA, loaded once per connection, falling back to its body if Redis forgot it (restart, flush). */
export class LuaScript {
  readonly sha: string;
  // Loading up front keeps a burst of first calls from each shipping the whole body.
  private readonly loaded = new WeakMap<Redis, Promise<unknown>>();
  /** Connections the script is known to be loaded on: a call goes out at once. */
  private readonly ready = new WeakSet<Redis>();

  constructor(readonly body: string) {
    this.sha = createHash('sha1').update(body).digest('hex');
  }

  /**
   * Runs the script with `keys` and `args` (Buffers for binary values); concurrent calls on one connection are pipelined by ioredis.
   * Once the script is loaded on the connection, the call is written before this returns (no await in between), so a
   * caller that corks the connection (shared/redis/sent-together.ts) sends it in the same write as its other commands.
   */
  run(redis: Redis, keys: readonly string[], args: readonly (string | number | Buffer)[]): Promise<unknown> {
    if (this.ready.has(redis)) return this.call(redis, keys, args);
    let loading = this.loaded.get(redis);
    if (!loading) {
      loading = redis.script('LOAD', this.body);
      this.loaded.set(redis, loading);
      loading.then(
        () => this.ready.add(redis),
        () => this.loaded.delete(redis),
      );
    }
    return loading.then(() => this.call(redis, keys, args));
  }

  private async call(redis: Redis, keys: readonly string[], args: readonly (string | number | Buffer)[]): Promise<unknown> {
    try {
      return await redis.evalsha(this.sha, keys.length, ...keys, ...args);
    } catch (error) {
      if (!(error instanceof Error) || !error.message.startsWith('NOSCRIPT')) throw error;
      return redis.eval(this.body, keys.length, ...keys, ...args);
    }
  }
}
