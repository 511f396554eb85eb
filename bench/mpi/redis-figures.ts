/**
 * What the benchmark reads from Redis itself: memory (INFO used_memory, and
 * MEMORY USAGE per kind of key), and the raw baselines measured in the same run
 * on the same server — pipelined HSET of the same Patient JSONs, and PING.
 */
import { performance } from 'node:perf_hooks';
import type { Redis } from 'ioredis';
import { timeSequential, type LatencySummary } from '../common/latency.js';

export async function usedMemory(redis: Redis): Promise<number> {
  const info = await redis.info('memory');
  const m = /^used_memory:(\d+)/m.exec(info);
  if (!m) throw new Error('INFO memory has no used_memory');
  return Number(m[1]);
}

export interface KeyKindMemory {
  readonly keys: number;
  /** Sum of MEMORY USAGE, exact for kinds of up to `sampleSize` keys, else extrapolated from a sample. */
  readonly bytes: number;
}

/**
 * Memory per kind of key under a prefix: a SCAN over every key, grouped by the
 * part of the name after the hash tag (`{mpi}:blk`, `{mpi}:person`, `{audit}:stream`…).
 */
export async function memoryByKeyKind(redis: Redis, prefix: string, sampleSize = 2000): Promise<Record<string, KeyKindMemory>> {
  const kinds = new Map<string, { keys: number; sampled: string[] }>();
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 5000);
    cursor = next;
    for (const key of keys) {
      const kind = kindOf(key, prefix);
      let entry = kinds.get(kind);
      if (!entry) kinds.set(kind, (entry = { keys: 0, sampled: [] }));
      entry.keys++;
      // Reservoir sampling keeps an unbiased sample whatever order SCAN returns keys in.
      if (entry.sampled.length < sampleSize) entry.sampled.push(key);
      else {
        const j = Math.floor(Math.random() * entry.keys);
        if (j < sampleSize) entry.sampled[j] = key;
      }
    }
  } while (cursor !== '0');
  const out: Record<string, KeyKindMemory> = {};
  for (const [kind, { keys, sampled }] of [...kinds.entries()].sort()) {
    const pipeline = redis.pipeline();
    for (const key of sampled) pipeline.call('MEMORY', 'USAGE', key, 'SAMPLES', '0');
    const results = (await pipeline.exec()) ?? [];
    const sum = results.reduce((s, [, n]) => s + (typeof n === 'number' ? n : 0), 0);
    out[kind] = { keys, bytes: Math.round((sum * keys) / Math.max(1, sampled.length)) };
  }
  return out;
}

/** `is:{mpi}:blk:fy:…` → `{mpi}:blk`; `is:{Task}:…` → `{Task}`. */
function kindOf(key: string, prefix: string): string {
  const rest = key.slice(prefix.length + 1);
  const m = /^(\{[^}]*\})(?::([a-z-]+))?/.exec(rest);
  if (!m) return rest.split(':')[0] ?? rest;
  return m[2] ? `${m[1]}:${m[2]}` : m[1]!;
}

export interface RawHsetBaseline {
  readonly recordsPerSecond: number;
  readonly bytesPerRecord: number;
}

/**
 * The floor under the bulk load: the same Patient JSONs HSET into one hash, in
 * pipelines of `batch`, `concurrency` pipelines in flight (as the HTTP load sends
 * Bundles). The hash is deleted afterwards.
 */
export async function rawHsetBaseline(redis: Redis, key: string, jsons: readonly (readonly [string, string])[], batch: number, concurrency: number): Promise<RawHsetBaseline> {
  await redis.del(key);
  const before = await usedMemory(redis);
  let next = 0;
  const start = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < jsons.length) {
        const from = next;
        next += batch;
        const pipeline = redis.pipeline();
        for (const [id, json] of jsons.slice(from, from + batch)) pipeline.hset(key, id, json);
        const results = (await pipeline.exec()) ?? [];
        for (const [err] of results) if (err) throw err;
      }
    }),
  );
  const seconds = (performance.now() - start) / 1000;
  const after = await usedMemory(redis);
  await redis.del(key);
  return { recordsPerSecond: Math.round(jsons.length / seconds), bytesPerRecord: Math.round((after - before) / jsons.length) };
}

export function pingLatency(redis: Redis, n: number): Promise<LatencySummary> {
  return timeSequential(n, async () => {
    await redis.ping();
  });
}

/**
 * Bytes held by the audit trail's keys under a prefix — the stream and, since the
 * audit service runs in the hub, its Merkle log and search indexes (every
 * `{audit}` key): what an exchange's record costs, kept apart from the MPI's own.
 */
export async function auditTrailMemory(redis: Redis, prefix: string): Promise<number> {
  const byKind = await memoryByKeyKind(redis, prefix);
  return Object.entries(byKind)
    .filter(([kind]) => kind.startsWith('{audit}'))
    .reduce((sum, [, m]) => sum + m.bytes, 0);
}
