/**
 * Verifies the whole log against the audit stream (domain/verification.ts
 * does the checking): every entry of the stream the log appended is read back
 * and re-hashed — the stream's bytes, what search, read, export and the
 * evidence report serve — its stream id checked against the id the log
 * appended at that position, its leaf hash against the stored one, and every
 * checkpoint against the roots of those. What `infoshare audit verify` runs
 * against the hub's Redis; the result is kept for the auditor's page
 * (`lastVerification`).
 *
 * Tile by tile: tile t is leaves [256t, 256t + 256), and the stream entries
 * from its first leaf's id up to the next tile's first (from the stream's
 * start for tile 0; up to the last leaf's id for the last tile), so every
 * stream entry up to the log's last leaf belongs to exactly one tile — one the
 * log never appended shows up where it sits, and one deleted where it is missing.
 * The stream is read as raw reply bytes (shared/redis/raw-replies.ts), a few
 * tiles' XRANGEs in flight while one is hashed, and each entry hashed in place
 * (domain/stream-page.ts).
 *
 * On every core: this thread and worker threads (verify-worker.ts, one per
 * other core) each read a run of tiles on connections of their own, hash its
 * entries and sum each tile up (`summariseTile`: leaf hashes and ids checked,
 * the tile's subtree roots, and the subtrees up to any checkpoint size inside
 * it). RFC 9162 subtrees at power-of-two boundaries combine exactly, so joining
 * them is ~one hash per 256 entries into the tree and checking the checkpoints
 * — the same report, first bad position included, as hashing every leaf here
 * in order (`threads: 1` does that, and tests compare the two). This thread
 * takes runs too rather than only joining: a worker thread costs ~0.07 s of
 * CPU to start (verify-worker.ts loads no package), ~0.07 µs per entry at a
 * million entries. The threads are started before anything else and given
 * their runs before the checkpoints' signatures are checked (tiles cut at the
 * sizes the notes name), so neither their start nor those checks (~0.13 s at a
 * million entries) holds up the hashing.
 */
import fs from 'node:fs';
import os from 'node:os';
import type { Redis, RedisOptions } from 'ioredis';
import { RawReplyConnection } from '../../shared/redis/raw-replies.js';
import { readInteger } from '../../shared/resp.js';
import { startScriptThread } from '../../shared/runtime/script-thread.js';
import type { NoteVerifier } from './domain/checkpoint.js';
import { HASH_BYTES } from './domain/merkle.js';
import { hashStreamPage } from './domain/stream-page.js';
import { TILE_WIDTH } from './domain/tiles.js';
import { LogVerification, claimedCheckpointSizes, summariseTile, type TileIds, type TileSummary, type VerificationReport } from './domain/verification.js';
import type { AuditKeys } from './keys.js';
import type { LogStore } from './store.js';

/** Tiles whose stream entries are asked for ahead of the one being hashed (~660 KB each at 2.6 KB an entry). */
export const TILES_IN_FLIGHT = 4;
/** Tiles a worker thread is given at a time (~8k entries): small enough to share a busy machine's cores evenly. */
const TILES_PER_JOB = 32;
/** At most this many stream entries are read for one tile: entries inserted beyond it are found missing from later positions anyway. */
const MAX_ENTRIES_PER_TILE = 16 * TILE_WIDTH;

export interface VerifyOptions {
  /** Threads hashing the log, this one included: by default one per core; 1 hashes on this thread only. */
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
  const tilesPerJob = options.tilesPerJob ?? TILES_PER_JOB;
  // The threads start first: loading one (~0.07 s of CPU, longer in wall time) overlaps reading the checkpoints and
  // checking their signatures (~0.13 ms each, ~1,000 at a million entries) instead of following them. The size read
  // here only decides how many threads; the one verified is read below, after the checkpoints.
  const wanted = Math.min(options.threads ?? os.availableParallelism(), Math.ceil(Math.ceil((await store.size()) / TILE_WIDTH) / tilesPerJob));
  const connection = await rawConnectionOf(redis);
  const pool = wanted > 1 ? new SummaryPool(wanted - 1, tilesPerJob, connection, keys) : undefined;
  try {
    // Checkpoints first, then the size: on a live log the size read is at least every checkpoint read.
    const checkpoints = await store.allCheckpoints();
    const { size, layout2From } = await store.state();
    const notes = checkpoints.map((c) => c.note);
    const tiles = Math.ceil(size / TILE_WIDTH);
    // Tiles are cut at every size a note names, read before its signature is checked, so the threads start hashing
    // while this one checks the signatures: a cut at a size no valid checkpoint has is not used (`addTileSummary`).
    const job: TileJob = { size, layout2From: layout2From ?? Infinity, checkpointSizes: claimedCheckpointSizes(notes), firstTile: 0, tiles };
    const summaries = pool ? pool.summarise(job) : summariseAlone(connection, keys, job);
    const verification = new LogVerification(notes, verifier, origin, size);
    for await (const run of summaries) for (const summary of run) verification.addTileSummary(summary);
    return verification.finish();
  } finally {
    await pool?.close();
  }
}

/** The tiles of `job` summed up on this thread alone, on a connection of its own (`threads: 1`, or a log of one run). */
async function* summariseAlone(connection: RedisOptions, keys: AuditKeys, job: TileJob): AsyncGenerator<TileSummary[]> {
  const stream = await RawReplyConnection.connect(connection);
  try {
    yield await summariseTiles(stream, keys, job);
  } finally {
    stream.close();
  }
}

/** Tiles [firstTile, firstTile + tiles) of a log of `size` entries, with the checkpoint sizes to cut at. */
export interface TileJob {
  readonly size: number;
  /** The first position whose leaf is in its entry's own layout (Infinity: none; domain/leaf.ts). */
  readonly layout2From: number;
  readonly checkpointSizes: readonly number[];
  readonly firstTile: number;
  readonly tiles: number;
}

/**
 * What the log keeps of one tile (up to the size verified), as the bytes Redis holds: its stream
 * ids, each followed by a newline, and their leaf hashes packed. Compared in place, never split.
 */
interface LogTile {
  readonly ids: Buffer;
  readonly idCount: number;
  readonly hashes: Buffer;
}

const NEWLINE = 0x0a;
const CR = 0x0d;
const DOLLAR = 0x24;

/**
 * Reads and sums up a run of tiles, in order (on whichever thread calls it):
 * the log's ids and hashes of the run in one round trip, then the stream
 * entries of each tile, TILES_IN_FLIGHT asked ahead.
 */
export async function summariseTiles(stream: RawReplyConnection, keys: AuditKeys, job: TileJob): Promise<TileSummary[]> {
  const { tiles, nextFirstId } = await readLogTiles(stream, keys, job);
  const lastTile = Math.ceil(job.size / TILE_WIDTH) - 1;
  /** Sums up tile i from its stream entries (a reply valid during this call only; none when the log lost its range). */
  const summarise = (i: number, reply: Buffer | undefined): TileSummary => {
    const tile = tiles[i]!;
    const first = (job.firstTile + i) * TILE_WIDTH;
    let firstWrong: TileIds['firstWrong'];
    let idAt = 0;
    let leaves: Buffer = NO_LEAVES;
    if (reply) {
      leaves = hashStreamPage(reply, { firstPosition: first, layout2From: job.layout2From }, (bytes, idStart, idEnd, offset) => {
        if (firstWrong !== undefined) return;
        if (offset < tile.idCount && sameId(bytes, idStart, idEnd, tile.ids, idAt)) idAt += idEnd - idStart + 1;
        else firstWrong = { offset, found: bytes.toString('latin1', idStart, idEnd) };
      });
    }
    const count = leaves.length / HASH_BYTES;
    // Fewer entries than leaves: the stream no longer holds the one after the last read.
    if (firstWrong === undefined && count < tile.idCount) firstWrong = { offset: count };
    return summariseTile(first, leaves, tile.hashes, { expected: (offset) => idsOf(tile.ids)[offset], ...(firstWrong ? { firstWrong } : {}) }, job.checkpointSizes);
  };
  const ask = (i: number): Promise<TileSummary> => {
    const tile = job.firstTile + i;
    const { ids, idCount } = tiles[i]!;
    const start = tile === 0 ? '-' : firstIdOf(ids);
    // Up to the next tile's first leaf, or — the log's last tile — its last leaf, never entries not yet appended.
    const next = nextFirstId(i);
    const end = tile === lastTile ? (idCount > 0 ? lastIdOf(ids) : undefined) : next === undefined ? undefined : `(${next}`;
    if (start === undefined || end === undefined) return Promise.resolve(summarise(i, undefined));
    // Hashed the moment its bytes are in, while the next tiles' are on their way.
    const summary = stream.read(['XRANGE', keys.stream, start, end, 'COUNT', String(MAX_ENTRIES_PER_TILE)], (reply) => summarise(i, reply));
    // Asked ahead: if the connection fails, the tile awaited first says so; the others must not be unhandled rejections.
    summary.catch(() => {});
    return summary;
  };
  const pending = tiles.map((_, i) => (i < TILES_IN_FLIGHT ? ask(i) : undefined));
  const summaries: TileSummary[] = [];
  for (let i = 0; i < tiles.length; i++) {
    summaries.push(await pending[i]!);
    if (i + TILES_IN_FLIGHT < tiles.length) pending[i + TILES_IN_FLIGHT] = ask(i + TILES_IN_FLIGHT);
  }
  return summaries;
}

const NO_LEAVES: Buffer = Buffer.alloc(0);

/** Whether the id bytes in b[start, end) are the id at ids[at] (followed by its newline). */
function sameId(b: Buffer, start: number, end: number, ids: Buffer, at: number): boolean {
  const length = end - start;
  if (ids[at + length] !== NEWLINE) return false;
  for (let i = 0; i < length; i++) if (b[start + i] !== ids[at + i]) return false;
  return true;
}

/**
 * The log's id and leaf-hash tiles of a run (cut at the size verified), and the first id of the
 * tile after each: GETs pipelined on the raw connection (a verification thread needs no other client).
 */
async function readLogTiles(stream: RawReplyConnection, keys: AuditKeys, job: TileJob): Promise<{ tiles: LogTile[]; nextFirstId: (i: number) => string | undefined }> {
  const end = job.firstTile + job.tiles;
  const get = (key: string) => stream.read(['GET', key], (reply) => Buffer.from(bulkValue(reply)));
  const reads = stream.batch(() => {
    const sent: Promise<Buffer>[] = [];
    for (let t = job.firstTile; t < end; t++) sent.push(get(keys.idTile(t)), get(keys.hashTile(0, t)));
    // The first id of the tile after the run: where its last tile's stream entries stop.
    if (end * TILE_WIDTH < job.size) sent.push(get(keys.idTile(end)));
    return sent;
  });
  const values = await Promise.all(reads);
  const tiles: LogTile[] = [];
  for (let i = 0; i < job.tiles; i++) {
    // On a live log the last tile may have grown since the size was read: verify up to that size.
    const room = job.size - (job.firstTile + i) * TILE_WIDTH;
    const ids = firstIdLines(values[2 * i]!, room);
    const hashes = values[2 * i + 1]!;
    tiles.push({ ...ids, hashes: hashes.subarray(0, Math.min(Math.floor(hashes.length / HASH_BYTES), room) * HASH_BYTES) });
  }
  const after = end * TILE_WIDTH < job.size ? firstIdOf(values[2 * job.tiles]!) : undefined;
  return { tiles, nextFirstId: (i) => (i + 1 < tiles.length ? firstIdOf(tiles[i + 1]!.ids) : after) };
}

/** The value of a GET's raw reply (`$<n>` CRLF, its bytes, CRLF; `$-1` for a missing key: no bytes). */
function bulkValue(reply: Buffer): Buffer {
  const cr = reply.indexOf(CR);
  if (reply[0] !== DOLLAR || cr < 0) throw new Error(`not a GET reply: ${reply.toString('latin1', 0, 40)}`);
  const length = readInteger(reply, 1, cr);
  return length < 0 ? NO_LEAVES : reply.subarray(cr + 2, cr + 2 + length);
}

/** The first `room` ids of an id tile (its bytes up to their newlines), and how many there are. */
function firstIdLines(bytes: Buffer, room: number): { ids: Buffer; idCount: number } {
  let idCount = 0;
  let end = 0;
  while (idCount < room) {
    const newline = bytes.indexOf(NEWLINE, end);
    if (newline < 0) break;
    // An empty line is no id (the tile is written id by id, each with its newline).
    if (newline > end) idCount++;
    end = newline + 1;
  }
  return { ids: bytes.subarray(0, end), idCount };
}

function idsOf(bytes: Buffer): string[] {
  return bytes.toString('latin1').split('\n').filter((id) => id !== '');
}

function firstIdOf(bytes: Buffer): string | undefined {
  const newline = bytes.indexOf(NEWLINE);
  return newline > 0 ? bytes.toString('latin1', 0, newline) : idsOf(bytes)[0];
}

function lastIdOf(bytes: Buffer): string | undefined {
  // The tile's bytes end with the last id's newline (`firstIdLines`).
  const end = bytes.length - 1;
  const start = bytes.lastIndexOf(NEWLINE, end - 1) + 1;
  if (end > start && bytes[end] === NEWLINE) return bytes.toString('latin1', start, end);
  const ids = idsOf(bytes);
  return ids[ids.length - 1];
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

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1']);

/**
 * Where verification's raw connections go: the client's Redis — over its Unix socket when that Redis runs on
 * this host and listens on one (the hub's own redis-server does: shared/redis/server.ts). Serving the stream over
 * the socket costs redis-server ~0.3-0.4 µs of CPU less per entry than over TCP loopback (1.6-1.75 against
 * 1.85-2.25 µs, five interleaved pairs), the reader about the same. Otherwise — the socket does not answer, or
 * answers for another server (`run_id` differs) — as the client connects.
 */
export async function rawConnectionOf(redis: Redis): Promise<RedisOptions> {
  const settings = connectionOf(redis);
  if (settings.path !== undefined || settings.tls !== undefined || !LOOPBACK.has(settings.host ?? 'localhost')) return settings;
  const named = await redis.config('GET', 'unixsocket').then(
    (reply) => reply[1],
    () => undefined, // CONFIG may be disabled: TCP as the client connects
  );
  if (!named || !fs.existsSync(named)) return settings;
  const { host: _host, port: _port, family: _family, ...login } = settings;
  const bySocket: RedisOptions = { ...login, path: named };
  try {
    // The same server, not one that merely has a socket at that path here (the client's loopback port may be a tunnel
    // to another host): its run id must be the client's.
    const viaSocket = await RawReplyConnection.connect(bySocket);
    try {
      const [ours, theirs] = await Promise.all([redis.info('server'), viaSocket.command(['INFO', 'server'])]);
      return runIdOf(ours) !== undefined && runIdOf(ours) === runIdOf(theirs.toString('latin1')) ? bySocket : settings;
    } finally {
      viaSocket.close();
    }
  } catch {
    return settings;
  }
}

function runIdOf(info: string): string | undefined {
  return /^run_id:([0-9a-f]+)\r?$/m.exec(info)?.[1];
}

/** Sums up runs of tiles, one at a time: a worker thread, or this thread on a connection of its own. */
interface RunTaker {
  /** Takes a run; `done` is called with its summaries or its failure. */
  take(run: VerifyRequest, done: (result: TileSummary[] | Error) => void): void;
  close(): Promise<void>;
}

/** A worker thread (verify-worker.ts) taking runs. */
function workerTaker(connection: RedisOptions, prefix: string): RunTaker {
  const workerData: VerifyWorkerData = { connection, prefix };
  const thread = startScriptThread(import.meta.url, 'verify-worker', { workerData });
  const waiting = new Map<number, (result: TileSummary[] | Error) => void>();
  thread.on('message', (reply: VerifyReply) => {
    const done = waiting.get(reply.id);
    waiting.delete(reply.id);
    done?.('error' in reply ? new Error(`log verification thread: ${reply.error}`) : reply.summaries.map(fromWire));
  });
  thread.on('error', (err) => {
    for (const done of waiting.values()) done(err);
    waiting.clear();
  });
  return {
    take(run, done) {
      waiting.set(run.id, done);
      thread.postMessage(run);
    },
    async close() {
      await thread.terminate();
    },
  };
}

/** This thread taking runs, on a raw-reply connection of its own (its event loop interleaves them with the workers' replies). */
function localTaker(connection: RedisOptions, keys: AuditKeys): RunTaker {
  const stream = RawReplyConnection.connect(connection);
  stream.catch(() => {}); // the first run taken reports it
  return {
    take(run, done) {
      stream.then((raw) => summariseTiles(raw, keys, run)).then(done, (err: unknown) => done(err instanceof Error ? err : new Error(String(err))));
    },
    async close() {
      await stream.then((raw) => raw.close()).catch(() => {});
    },
  };
}

/**
 * This thread and `workers` worker threads summing up runs of tiles: runs
 * handed out as takers free up (a busy machine's cores are shared evenly),
 * results given back in tile order.
 */
class SummaryPool {
  private readonly takers: RunTaker[];

  constructor(
    workers: number,
    private readonly tilesPerJob: number,
    connection: RedisOptions,
    keys: AuditKeys,
  ) {
    this.takers = [localTaker(connection, keys), ...Array.from({ length: workers }, () => workerTaker(connection, keys.space.prefix))];
  }

  /**
   * Hands out the runs of `job` (`tilesPerJob` tiles each) at once — the threads start on them while the caller
   * goes on — and gives their summaries back in order.
   */
  summarise(job: TileJob): AsyncIterable<TileSummary[]> {
    const runs: VerifyRequest[] = [];
    for (let t = job.firstTile; t < job.firstTile + job.tiles; t += this.tilesPerJob) {
      runs.push({ ...job, id: runs.length, firstTile: t, tiles: Math.min(this.tilesPerJob, job.firstTile + job.tiles - t) });
    }
    const results = runs.map(() => deferred<TileSummary[]>());
    let nextRun = 0;
    const feed = (taker: RunTaker) => {
      if (nextRun >= runs.length) return;
      const run = runs[nextRun++]!;
      taker.take(run, (result) => {
        if (result instanceof Error) results[run.id]!.reject(result);
        else results[run.id]!.resolve(result);
        feed(taker);
      });
    };
    // Two runs each, so a taker never waits for this thread between runs.
    for (const taker of this.takers) {
      feed(taker);
      feed(taker);
    }
    return (async function* inOrder() {
      for (const result of results) yield await result.promise;
    })();
  }

  async close(): Promise<void> {
    await Promise.all(this.takers.map((t) => t.close()));
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
