/**
 * `npm run bench:audit` — the Merkle audit log (issue 14, item 8).
 *
 * In one run, on one private redis-server with the hub's durable setting
 * (AOF, `appendfsync always`), over `--entries` AuditEvents (default 1,000,000):
 *
 * 1. Baseline: raw XADD of the entries (layout `--layout`, default 4: what the hub writes) into the audit stream, pipelined
 *    (`--pipeline` commands per round trip) → `rawXaddPerSecond`.
 * 2. The log's append: the audit service's appender consumes that stream with
 *    its consumer group (batches of INFOSHARE_AUDIT_BATCH_SIZE, one Lua call
 *    = one fsync per batch), hashes the leaves, writes the tiles and signs a
 *    checkpoint every INFOSHARE_AUDIT_CHECKPOINT_EVERY → `appendPerSecond`.
 * 3. Full verification (what `infoshare audit verify` runs): every audit
 *    stream entry read back and re-hashed, its id checked, every checkpoint
 *    checked → `verifyEntriesPerSecond`. Its baselines in the same run, on one
 *    thread: the raw read of the same stream entries (the same XRANGEs, raw
 *    replies, nothing done with them) → `rawStreamReadPerSecond`, and that read
 *    with every entry's leaf hash computed → `readAndHashPerSecond`; the CPU per
 *    entry of reading, hashing and the rest (tree, ids, threads) is their
 *    difference (`verifyCpuMicrosPerEntry`).
 * 4. Inclusion proofs of random AuditEvents by id at the latest checkpoint,
 *    each verified → `inclusionProofsPerSecond`.
 * 5. The evidence side (bench/audit-evidence.ts): the search indexes caught up,
 *    the maturity evidence report → `reportSecondsAt1M`, and the auditor's page
 *    loaded in headless Chromium until its grid shows → `pageLoadMsAt1M` (at the
 *    default million entries; `entries` says the size measured at).
 *
 * CPU seconds of this process and of redis-server are reported per phase, so
 * a run on a busy machine can still be compared with the baseline of the same
 * run. Progress on stderr; ONE JSON line on stdout, also appended to
 * bench/results/audit.json, with Redis memory per entry of the stream, the log
 * and the search indexes (`redisBytesPerEntry`, from `used_memory` between phases).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import type { Redis } from 'ioredis';
import { AUDIT_ENTRY_FIELDS, entryArgs, type AuditEntry, type EntryLayout } from '../shared/audit/audit-entry.js';
import { storedAuditEntry, toAuditEntry, toAuditEvent } from '../shared/audit/audit-event.js';
import type { ExchangeRecord } from '../shared/audit/exchange.js';
import { loadConfig } from '../shared/config.js';
import { createLogger } from '../shared/log.js';
import { connectRedis } from '../shared/redis/connection.js';
import { ensureRedis } from '../shared/redis/server.js';
import { buildServiceDeps } from '../shared/runtime/deps.js';
import { loadAuditConfig } from '../services/audit/config.js';
import { HASH_BYTES, leafHashOfText, verifyInclusion } from '../services/audit/domain/merkle.js';
import { rawConnectionOf, TILES_IN_FLIGHT, verifyStoredLog } from '../services/audit/log-verify.js';
import { hashStreamPage } from '../services/audit/domain/stream-page.js';
import { TILE_WIDTH } from '../services/audit/domain/tiles.js';
import type { AuditKeys } from '../services/audit/keys.js';
import { RawReplyConnection } from '../shared/redis/raw-replies.js';
import { logFactsOf } from '../services/audit/evidence-context.js';
import { createAuditContext, createLogAppender } from '../services/audit/module.js';
import { measureEvidence } from './audit-evidence.js';
import { redisCpuSeconds } from './common/process-cpu.js';
import { keepResult, optionsOrExit, positiveFlag, progressPrinter, readFlags, UsageError } from './common/cli.js';

const TARGETS = { appendPerSecond: 10_000, verifyEntriesPerSecond: 300_000, reportSecondsAt1M: 10, pageLoadMsAt1M: 1_000 } as const;

const USAGE = `npm run bench:audit -- [--entries N] [--layout 1|2|3|4] [--proofs N] [--pipeline N] [--out FILE|-]
  --entries   AuditEvents written and appended (default 1000000)
  --layout    the entries' layout (default 4, what the hub writes: one stream field, the event's fixed text by vocabulary reference; 3 the same with the full event, as written in session 17; 2 nine fields as in sessions 15-16; 1 before — to compare)
  --proofs    inclusion proofs asked and verified (default 5000)
  --pipeline  XADD commands per round trip in the baseline (default 1000)
  --out       where to append the result (default bench/results/audit.json; - keeps nothing)`;

interface Options {
  readonly entries: number;
  readonly layout: EntryLayout;
  readonly proofs: number;
  readonly pipeline: number;
  readonly out: string;
}

function parseOptions(argv: readonly string[]): Options {
  const values = readFlags(argv, ['entries', 'layout', 'proofs', 'pipeline', 'out']);
  const layout = values.get('layout') ?? '4';
  if (layout !== '1' && layout !== '2' && layout !== '3' && layout !== '4') throw new UsageError('--layout is 1, 2, 3 or 4');
  return {
    entries: positiveFlag(values, 'entries', 1_000_000),
    layout: Number(layout) as EntryLayout,
    proofs: positiveFlag(values, 'proofs', 5_000),
    pipeline: positiveFlag(values, 'pipeline', 1_000),
    out: values.get('out') ?? 'bench/results/audit.json',
  };
}

const progress = progressPrinter('audit');

async function main(): Promise<void> {
  const options = optionsOrExit(parseOptions, USAGE);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'infoshare-bench-audit-'));
  const env: NodeJS.ProcessEnv = { ...process.env, INFOSHARE_DATA_DIR: tmp, INFOSHARE_REDIS_APPENDFSYNC: 'always', INFOSHARE_KEY_PREFIX: 'bench-audit' };
  delete env.REDIS_URL;
  const config = loadConfig(env);
  const log = createLogger('bench-audit', 'warn');
  progress('starting a private redis-server (AOF, appendfsync always)');
  const redisHandle = await ensureRedis(config, log);
  const redis = connectRedis(redisHandle.url);
  try {
    const result = await runBench(redis, config, options, log);
    process.stdout.write(`${JSON.stringify(result)}\n`);
    keepResult(options.out, result, 'append', progress);
  } finally {
    await redis.quit().catch(() => redis.disconnect());
    await redisHandle.stop();
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

async function runBench(redis: Redis, config: ReturnType<typeof loadConfig>, options: Options, log: ReturnType<typeof createLogger>) {
  const deps = await buildServiceDeps(config, redis, log);
  const auditConfig = loadAuditConfig(process.env);
  const ctx = await createAuditContext(deps, auditConfig);

  // 1. Baseline: raw XADD into the audit stream. Entries are made a pipeline at a time (a million held at once
  // would be gigabytes of heap); only the XADDs are timed.
  progress(`baseline: raw XADD of ${options.entries} entries`);
  const memoryAtStart = await redisUsedMemory(redis);
  let bytes = 0;
  const redisBefore = await redisCpuSeconds(redis);
  const timer = new Stopwatch();
  for (let start = 0; start < options.entries; start += options.pipeline) {
    const chunk = Array.from({ length: Math.min(options.pipeline, options.entries - start) }, (_, i) => makeEntry(start + i, options.layout));
    for (const e of chunk) for (const name of AUDIT_ENTRY_FIELDS) bytes += Buffer.byteLength(e[name]);
    timer.start();
    const pipeline = redis.pipeline();
    for (const entry of chunk) pipeline.xadd(ctx.keys.stream, '*', ...entryArgs(entry));
    await pipeline.exec();
    timer.stop();
  }
  const raw: Phase = { seconds: timer.seconds, cpu: { bench: round(timer.cpuSeconds), redis: round((await redisCpuSeconds(redis)) - redisBefore) } };
  const memoryWithStream = await redisUsedMemory(redis);

  // 2. The log's append, through the consumer group, as the running service does it.
  progress('the log: appending the stream through the consumer group');
  const appender = createLogAppender(ctx, deps);
  const append = await phase(redis, async () => {
    appender.appender.start();
    let lastReport = performance.now();
    for (;;) {
      const size = await ctx.store.size();
      if (size >= options.entries) break;
      if (performance.now() - lastReport > 5_000) {
        progress(`  ${size} of ${options.entries}`);
        lastReport = performance.now();
      }
      await new Promise((r) => setTimeout(r, 20));
    }
  });
  await appender.checkpointer.signNow((await ctx.store.frontier()).frontier);
  await appender.close();
  const checkpoints = (await ctx.store.allCheckpoints()).length;
  const memoryWithLog = await redisUsedMemory(redis);

  // 3. Full verification, after its baselines: the raw read of the same stream entries, then read + leaf hashes.
  progress('baselines: the raw read of the stream entries, then read + leaf hashes (one thread)');
  let baselineLeaves = 0;
  const layout2From = (await ctx.store.state()).layout2From ?? Infinity;
  const rawRead = await phase(redis, async () => {
    await readLoggedStream(redis, ctx.keys, options.entries, () => {});
  });
  const readAndHash = await phase(redis, async () => {
    await readLoggedStream(redis, ctx.keys, options.entries, (reply, tile) => {
      baselineLeaves += hashStreamPage(reply, { firstPosition: tile * TILE_WIDTH, layout2From }).length / HASH_BYTES;
    });
  });
  if (baselineLeaves !== options.entries) throw new Error(`the baseline read ${baselineLeaves} entries, not ${options.entries}`);
  progress('verifying the whole log');
  let report: Awaited<ReturnType<typeof verifyStoredLog>> | undefined;
  const verify = await phase(redis, async () => {
    report = await verifyStoredLog(redis, ctx.keys, ctx.store, ctx.signer.verifier, ctx.signer.origin);
  });
  if (!report?.ok) throw new Error(`verification failed: ${report?.problems.join('; ')}`);

  // 4. Inclusion proofs of random entries, by AuditEvent id, each verified.
  progress(`${options.proofs} inclusion proofs`);
  const latest = (await ctx.store.latestCheckpoint())!;
  const root = Buffer.from(latest.rootHash, 'base64');
  const picks = Array.from({ length: options.proofs }, () => Math.floor(Math.random() * latest.size));
  const ids = (await Promise.all(picks.map((i) => ctx.store.entriesAt(i, i + 1)))).map((e) => e[0]!.id);
  let failed = 0;
  const proofs = await phase(redis, async () => {
    const inFlight = 16;
    for (let start = 0; start < ids.length; start += inFlight) {
      const answers = await Promise.all(ids.slice(start, start + inFlight).map((id) => ctx.proofs.inclusion(id, String(latest.size))));
      for (const a of answers) {
        if (!verifyInclusion(a.leafIndex, a.treeSize, leafHashOfText(a.canonical), a.hashes.map((h) => Buffer.from(h, 'base64')), root)) failed++;
      }
    }
  });
  if (failed > 0) throw new Error(`${failed} inclusion proofs did not verify`);

  // 5. The evidence report and the auditor's page at this size.
  progress('the search indexes, the evidence report, the auditor page in headless Chromium');
  const memoryBeforeIndex = await redisUsedMemory(redis);
  const evidence = await measureEvidence(deps, logFactsOf(ctx.store));
  const memoryWithIndex = await redisUsedMemory(redis);
  const perEntry = (bytes: number) => Math.round(bytes / options.entries);

  const perSecond = (count: number, p: Phase) => Math.round(count / p.seconds);
  const result = {
    bench: 'audit',
    at: new Date().toISOString(),
    entries: options.entries,
    layout: options.layout,
    meanEntryBytes: Math.round(bytes / options.entries),
    appendfsync: 'always',
    batchSize: auditConfig.batchSize,
    checkpointEvery: auditConfig.checkpointEvery,
    checkpoints,
    rawXaddPerSecond: perSecond(options.entries, raw),
    appendPerSecond: perSecond(options.entries, append),
    verifyEntriesPerSecond: perSecond(options.entries, verify),
    rawStreamReadPerSecond: perSecond(options.entries, rawRead),
    readAndHashPerSecond: perSecond(options.entries, readAndHash),
    verifyCpuMicrosPerEntry: {
      // This process (all threads) and redis-server, per entry: reading, then leaf hashing on top of it, then the rest.
      read: microsPerEntry(rawRead.cpu, options.entries),
      leafHash: microsPerEntry(minus(readAndHash.cpu, rawRead.cpu), options.entries),
      treeIdsThreads: microsPerEntry(minus(verify.cpu, readAndHash.cpu), options.entries),
      total: microsPerEntry(verify.cpu, options.entries),
    },
    inclusionProofsPerSecond: perSecond(ids.length, proofs),
    reportSecondsAt1M: evidence.reportSecondsAt1M,
    pageLoadMsAt1M: evidence.pageLoadMsAt1M,
    pageReloadMs: evidence.pageReloadMs,
    indexEntriesPerSecond: evidence.indexEntriesPerSecond,
    redisBytesPerEntry: {
      stream: perEntry(memoryWithStream - memoryAtStart),
      log: perEntry(memoryWithLog - memoryWithStream),
      searchIndex: perEntry(memoryWithIndex - memoryBeforeIndex),
    },
    root: report.root,
    cpuSeconds: {
      rawXadd: raw.cpu,
      append: append.cpu,
      rawStreamRead: rawRead.cpu,
      readAndHash: readAndHash.cpu,
      verify: verify.cpu,
      inclusionProofs: proofs.cpu,
    },
    targets: TARGETS,
    meetsTargets:
      perSecond(options.entries, append) >= TARGETS.appendPerSecond &&
      perSecond(options.entries, verify) >= TARGETS.verifyEntriesPerSecond &&
      evidence.reportSecondsAt1M <= TARGETS.reportSecondsAt1M &&
      evidence.pageLoadMsAt1M <= TARGETS.pageLoadMsAt1M,
    machine: { cores: os.cpus().length, loadAverage1m: Math.round(os.loadavg()[0]! * 10) / 10 },
    note: 'One machine runs this process and redis-server. Wall-clock rates are noisy on a shared machine: compare cpuSeconds (this process, redis-server) with the raw XADD baseline of the same run.',
  };
  return result;
}

interface Phase {
  readonly seconds: number;
  readonly cpu: { readonly bench: number; readonly redis: number };
}

/** Times one phase: wall seconds, and CPU seconds of this process and of redis-server. */
async function phase(redis: Redis, work: () => Promise<void>): Promise<Phase> {
  const cpu = process.cpuUsage();
  const redisBefore = await redisCpuSeconds(redis);
  const start = performance.now();
  await work();
  const seconds = (performance.now() - start) / 1000;
  const used = process.cpuUsage(cpu);
  return { seconds, cpu: { bench: round((used.user + used.system) / 1e6), redis: round((await redisCpuSeconds(redis)) - redisBefore) } };
}

type Cpu = Phase['cpu'];

function minus(a: Cpu, b: Cpu): Cpu {
  return { bench: a.bench - b.bench, redis: a.redis - b.redis };
}

function microsPerEntry(cpu: Cpu, entries: number): { bench: number; redis: number } {
  return { bench: round((cpu.bench * 1e6) / entries), redis: round((cpu.redis * 1e6) / entries) };
}

/**
 * Reads the stream entries of the log's `size` leaves as verification does —
 * one XRANGE per tile of 256 leaves, from its first leaf's id to the next
 * tile's, raw replies, TILES_IN_FLIGHT asked ahead — on this thread, handing
 * each reply to `each` with its tile as it arrives (its bytes valid during that call only).
 */
async function readLoggedStream(redis: Redis, keys: AuditKeys, size: number, each: (reply: Buffer, tile: number) => void): Promise<void> {
  // The same connection as verification's threads (the private redis-server's Unix socket): baselines and verification alike.
  const raw = await RawReplyConnection.connect(await rawConnectionOf(redis));
  try {
    const tiles = Math.ceil(size / TILE_WIDTH);
    const firstIds: string[] = [];
    const lastIds: string[] = [];
    for (let t = 0; t < tiles; t += 256) {
      const texts = await redis.pipeline(Array.from({ length: Math.min(256, tiles - t) }, (_, i) => ['get', keys.idTile(t + i)])).exec();
      for (const [, text] of texts ?? []) {
        const ids = String(text).split('\n').filter((id) => id !== '');
        firstIds.push(ids[0]!);
        lastIds.push(ids[ids.length - 1]!);
      }
    }
    const ask = (t: number) => {
      const done = raw.read(['XRANGE', keys.stream, firstIds[t]!, t + 1 < tiles ? `(${firstIds[t + 1]!}` : lastIds[t]!], (reply) => each(reply, t));
      done.catch(() => {}); // asked ahead: the reply awaited first reports a failure
      return done;
    };
    const replies: Promise<void>[] = [];
    for (let t = 0; t < Math.min(TILES_IN_FLIGHT, tiles); t++) replies.push(ask(t));
    for (let t = 0; t < tiles; t++) {
      await replies[t]!;
      if (t + TILES_IN_FLIGHT < tiles) replies.push(ask(t + TILES_IN_FLIGHT));
    }
  } finally {
    raw.close();
  }
}

async function redisUsedMemory(redis: Redis): Promise<number> {
  return Number(/^used_memory:(\d+)/m.exec(await redis.info('memory'))?.[1] ?? 0);
}

function round(x: number): number {
  return Math.round(x * 100) / 100;
}

/**
 * Entries as the hub records them (BALP AuditEvents in the stream layout):
 * reads, searches and refusals by the demo agencies about many people.
 */
const AGENCIES = ['nhs-lothian', 'edinburgh-social-work', 'edinburgh-education', 'gp-leith-cluster', 'rie-emergency'];
const EPOCH = Date.parse('2026-12-01T00:00:00Z');

function makeEntry(i: number, layout: EntryLayout): AuditEntry {
  {
    const agencies = AGENCIES;
    const start = EPOCH;
    const agency = agencies[i % agencies.length]!;
    const refused = i % 17 === 0;
    const recorded = new Date(start + i * 10).toISOString();
    const exchange: ExchangeRecord = {
      requestId: `bench-${i}`,
      service: i % 3 === 0 ? 'alerts' : 'mpi',
      type: 'rest',
      subtype: i % 2 === 0 ? 'read' : 'search-type',
      action: 'R',
      outcome: refused ? '4' : '0',
      httpStatus: refused ? 403 : 200,
      method: 'GET',
      path: `/fhir/Patient/p-${i % 50_000}`,
      agent: { clientId: agency, agency },
      subject: `Patient/p-${i % 50_000}`,
      entities: [{ reference: `Patient/p-${i % 50_000}`, role: 'data' }],
      criteria: refused ? ['SI-L3'] : ['MI-L3'],
      recorded,
    };
    // Layout 4 is its own stored form (the hub's writer); layouts 1-3 differ only in how the same full event is laid out.
    if (layout === 4) return storedAuditEntry({ ...exchange, recorded });
    const entry = toAuditEntry(exchange, toAuditEvent(exchange));
    return { ...entry, v: String(layout) };
  }
}

/** Wall and CPU time of the timed parts of a phase only. */
class Stopwatch {
  seconds = 0;
  cpuSeconds = 0;
  private wall = 0;
  private cpu: NodeJS.CpuUsage | undefined;

  start(): void {
    this.wall = performance.now();
    this.cpu = process.cpuUsage();
  }

  stop(): void {
    this.seconds += (performance.now() - this.wall) / 1000;
    const used = process.cpuUsage(this.cpu);
    this.cpuSeconds += (used.user + used.system) / 1e6;
  }
}

await main();
