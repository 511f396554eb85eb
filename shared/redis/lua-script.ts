/** Lua scripts run by SHA (EVALSHA), so Redis caches them and each call sends only the hash. */
import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';

/**
 * A Lua script run by SHA. On a connection it has not yet been loaded on — a new one, or one ioredis opened again
 * (Redis restarted: its script cache is empty) — a call sends `SCRIPT LOAD` and the `EVALSHA` together, so the call is
 * always written at once, in the order it was made. If Redis forgot it anyway (`SCRIPT FLUSH` on a live connection,
 * or a call in flight when the connection dropped, which ioredis sends again), the call falls back to its body (EVAL).
 */
export class LuaScript {
  readonly sha: string;
  /** The socket of each connection the script's `SCRIPT LOAD` was written on: a call there sends only the hash. */
  private readonly loadedOn = new WeakMap<Redis, object>();

  constructor(readonly body: string) {
    this.sha = createHash('sha1').update(body).digest('hex');
  }

  /**
   * Runs the script with `keys` and `args` (Buffers for binary values); concurrent calls on one connection are pipelined by ioredis.
   * The call is written before this returns (no await in between): a command started right after it runs after it, and a
   * caller that corks the connection (shared/redis/sent-together.ts) sends it in the same write as its other commands.
   * Redis runs one connection's commands in order, so a `SCRIPT LOAD` written first is there for every later call on
   * that socket; only one call per socket ships the body.
   */
  run(redis: Redis, keys: readonly string[], args: readonly (string | number | Buffer)[]): Promise<unknown> {
    const socket = redis.status === 'ready' ? redis.stream : undefined;
    if (!socket || this.loadedOn.get(redis) !== socket) {
      // Its failure (a body Redis cannot compile) reaches the caller through the EVAL fallback below.
      redis.script('LOAD', this.body).catch(() => undefined);
      // Offline, ioredis queues it for a socket not open yet: the next call (ready) loads again.
      if (socket) this.loadedOn.set(redis, socket);
    }
    return this.call(redis, keys, args);
  }

  private async call(redis: Redis, keys: readonly string[], args: readonly (string | number | Buffer)[]): Promise<unknown> {
    try {
      return await redis.evalsha(this.sha, keys.length, ...keys, ...args);
    } catch (error) {
      if (!(error instanceof Error) || !error.message.startsWith('NOSCRIPT')) throw error;
      // Commands sent behind this call have run before this fallback (the gap the class comment names); the next
      // call on this connection sends `SCRIPT LOAD` with it again.
      this.loadedOn.delete(redis);
      return redis.eval(this.body, keys.length, ...keys, ...args);
    }
  }
}
