/**
 * Verifies the whole log as stored (domain/verification.ts does the checking):
 * every entry bundle and level-0 hash tile read in order, every entry
 * re-hashed, every checkpoint checked. What `infoshare audit verify` runs
 * against the hub's Redis; the result is kept for the auditor's page
 * (`lastVerification`).
 *
 * On every core: worker threads (verify-worker.ts) each read a run of tiles
 * from Redis on their own connection, hash its entries and sum each tile up
 * (`summariseTile`: leaf hashes checked against the stored ones, the tile's
 * subtree roots, and the subtrees up to any checkpoint size inside it). RFC
 * 9162 subtrees at power-of-two boundaries combine exactly, so this thread
 * only joins ~one hash per 256 entries into the tree and checks the
 * checkpoints — the same report, first bad position included, as hashing
 * every leaf here (`threads: 1` does that, and tests compare the two).
 */
import os from 'node:os';
import type { Worker } from 'node:worker_threads';
import type { Redis, RedisOptions } from 'ioredis';
import { startScriptThread } from '../../shared/runtime/script-thread.js';
import type { NoteVerifier } from './domain/checkpoint.js';
import { HASH_BYTES } from './domain/merkle.js';
import { leafHashesOfBundle, TILE_WIDTH, unpackHashes } from './domain/tiles.js';
import { LogVerification, summariseTile, type TileSummary, type VerificationReport } from './domain/verification.js';
import type { AuditKeys } from './keys.js';
import type { LogStore } from './store.js';

/** Tiles read per round trip: ~256 entries each, so a few MB in flight. */
const TILES_PER_READ = 16;
/** Tiles a worker thread is given at a time (~8k entries): small enough to share a busy machine's cores evenly. */
const TILES_PER_JOB = 32;

export interface VerifyOptions {
  /** Threads hashing the log: by default one per core; 1 hashes on this thread. */
  readonly threads?: number;
  /** Tiles a thread is given at a time (default TILES_PER_JOB; tests use smaller runs to split small logs). */
  readonly tilesPerJob?: number;
}

export async function verifyStoredLog(
  redis: Redis,
  keys: AuditKeys,
  store: LogStore,
  verifier: NoteVerifier,
  origin: string,
  options: VerifyOptions = {},
): Promise<VerificationReport> {
  // Checkpoints first, then the size: on a live log the size read is at least every checkpoint read.
  const checkpoints = await store.allCheckpoints();
  const { size } = await store.state();
  const verification = new LogVerification(
    checkpoints.map((c) => c.note),
    verifier,
    origin,
    size,
  );
  const tiles = Math.ceil(size / TILE_WIDTH);
  const job: TileJob = { size, checkpointSizes: verification.checkpointSizes, firstTile: 0, tiles };
  const tilesPerJob = options.tilesPerJob ?? TILES_PER_JOB;
  const threads = Math.min(options.threads ?? os.availableParallelism(), Math.ceil(tiles / tilesPerJob));
  if (threads <= 1) {
    for (const summary of await summariseTiles(redis, keys, job)) verification.addTileSummary(summary);
  } else {
    const pool = new SummaryPool(threads, tilesPerJob, connectionOf(redis), keys.space.prefix);
    try {
      for await (const summaries of pool.summarise(job)) for (const summary of summaries) verification.addTileSummary(summary);
    } finally {
      await pool.close();
    }
  }
  return verification.finish();
}

/** Tiles [firstTile, firstTile + tiles) of a log of `size` entries, with the checkpoint sizes to cut at. */
export interface TileJob {
  readonly size: number;
  readonly checkpointSizes: readonly number[];
  readonly firstTile: number;
  readonly tiles: number;
}

/** Reads and sums up a run of tiles, in order (on whichever thread calls it). */
export async function summariseTiles(redis: Redis, keys: AuditKeys, job: TileJob): Promise<TileSummary[]> {
  const end = job.firstTile + job.tiles;
  const summaries: TileSummary[] = [];
  let next = readTiles(redis, keys, job.firstTile, Math.min(TILES_PER_READ, job.tiles));
  for (let tile = job.firstTile; tile < end; tile += TILES_PER_READ) {
    const read = await next;
    // The next round trip is in flight while this one is hashed.
    const following = tile + TILES_PER_READ;
    if (following < end) next = readTiles(redis, keys, following, Math.min(TILES_PER_READ, end - following));
    read.forEach(({ bundle, hashes }, i) => {
      const first = (tile + i) * TILE_WIDTH;
      const leaves = leafHashesOfBundle(bundle);
      // On a live log the last tile may have grown since the size was read: verify up to that size.
      const room = job.size - first;
      summaries.push(summariseTile(first, leaves.hashes.slice(0, room), unpackHashes(hashes).slice(0, room), leaves.truncated, job.checkpointSizes));
    });
  }
  return summaries;
}

async function readTiles(redis: Redis, keys: AuditKeys, first: number, count: number): Promise<{ bundle: Buffer; hashes: Buffer }[]> {
  // One transaction: a tile's entries and hashes read together, never half-way through an append.
  const transaction = redis.multi();
  for (let t = first; t < first + count; t++) transaction.getBuffer(keys.entryTile(t)).getBuffer(keys.hashTile(0, t));
  const results = (await transaction.exec()) ?? [];
  const out: { bundle: Buffer; hashes: Buffer }[] = [];
  for (let i = 0; i < count; i++) {
    const [bundleErr, bundle] = results[2 * i] ?? [];
    const [hashErr, hashes] = results[2 * i + 1] ?? [];
    if (bundleErr) throw bundleErr;
    if (hashErr) throw hashErr;
    out.push({ bundle: (bundle as Buffer | null) ?? Buffer.alloc(0), hashes: (hashes as Buffer | null) ?? Buffer.alloc(0) });
  }
  return out;
}

/** What a worker thread is started with: where its Redis is and the log's key prefix. */
export interface VerifyWorkerData {
  readonly connection: RedisOptions;
  readonly prefix: string;
}

export type VerifyRequest = TileJob & { readonly id: number };
export type VerifyReply = { readonly id: number; readonly summaries: readonly WireSummary[] } | { readonly id: number; readonly error: string };

/** A tile summary as it crosses threads: hashes packed into byte arrays of their own (a Buffer would drag its pool along). */
export interface WireSummary extends Omit<TileSummary, 'leaves' | 'parts' | 'cuts'> {
  readonly leaves: Uint8Array;
  readonly parts: Uint8Array;
  readonly cuts: ReadonlyArray<{ readonly size: number; readonly parts: Uint8Array }>;
}

export function toWire(summary: TileSummary): WireSummary {
  const pack = (hashes: readonly Buffer[]) => new Uint8Array(Buffer.concat(hashes));
  return { ...summary, leaves: new Uint8Array(summary.leaves), parts: pack(summary.parts), cuts: summary.cuts.map((c) => ({ size: c.size, parts: pack(c.parts) })) };
}

function fromWire(wire: WireSummary): TileSummary {
  const bytes = (a: Uint8Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);
  const unpack = (a: Uint8Array) => Array.from({ length: a.byteLength / HASH_BYTES }, (_, i) => bytes(a.subarray(i * HASH_BYTES, (i + 1) * HASH_BYTES)));
  return { ...wire, leaves: bytes(wire.leaves), parts: unpack(wire.parts), cuts: wire.cuts.map((c) => ({ size: c.size, parts: unpack(c.parts) })) };
}

/** The connection settings of a client, as a worker thread can take them (plain data: no functions). */
function connectionOf(redis: Redis): RedisOptions {
  const { host, port, path, username, password, db, tls, family } = redis.options;
  return Object.fromEntries(Object.entries({ host, port, path, username, password, db, tls, family }).filter(([, v]) => v !== undefined));
}

/**
 * Worker threads summing up runs of tiles: jobs handed out as threads free
 * up (a busy machine's cores are shared evenly), results given back in tile order.
 */
class SummaryPool {
  private readonly threads: Worker[];

  constructor(
    size: number,
    private readonly tilesPerJob: number,
    connection: RedisOptions,
    prefix: string,
  ) {
    const workerData: VerifyWorkerData = { connection, prefix };
    this.threads = Array.from({ length: size }, () => startScriptThread(import.meta.url, 'verify-worker', { workerData }));
  }

  /** The summaries of every tile of `job`, a run of `tilesPerJob` tiles at a time, in order. */
  async *summarise(job: TileJob): AsyncGenerator<TileSummary[]> {
    const runs: VerifyRequest[] = [];
    for (let t = job.firstTile; t < job.firstTile + job.tiles; t += this.tilesPerJob) {
      runs.push({ ...job, id: runs.length, firstTile: t, tiles: Math.min(this.tilesPerJob, job.firstTile + job.tiles - t) });
    }
    const results = runs.map(() => deferred<TileSummary[]>());
    let nextRun = 0;
    const feed = (thread: Worker) => {
      if (nextRun < runs.length) thread.postMessage(runs[nextRun++]!);
    };
    for (const thread of this.threads) {
      thread.on('message', (reply: VerifyReply) => {
        if ('error' in reply) results[reply.id]!.reject(new Error(`log verification thread: ${reply.error}`));
        else results[reply.id]!.resolve(reply.summaries.map(fromWire));
        feed(thread);
      });
      thread.on('error', (err) => results.forEach((r) => r.reject(err)));
      // Two runs each, so a thread never waits for this one between runs.
      feed(thread);
      feed(thread);
    }
    for (const result of results) yield await result.promise;
  }

  async close(): Promise<void> {
    await Promise.all(this.threads.map((t) => t.terminate()));
  }
}

function deferred<T>(): { promise: Promise<T>; resolve: (value: T) => void; reject: (err: unknown) => void } {
  let resolve!: (value: T) => void;
  let reject!: (err: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  // A run that fails after the caller stopped reading must not be an unhandled rejection.
  promise.catch(() => {});
  return { promise, resolve, reject };
}
