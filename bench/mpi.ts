/**
 * `npm run bench:mpi` — the MPI over HTTP at partnership size (issue 3, item 7):
 * bulk-load N synthetic agency records (default 100,000) as transaction Bundles,
 * then time `$match` one query at a time with that many indexed, and measure Redis
 * memory per record. Baselines measured in the same run, on the same Redis and
 * HTTP stack: pipelined HSET of the same Patient JSONs, PING, and `GET /health`.
 *
 * Runs the directory (the agencies' tokens and JWKS) in this process on free ports, over a private
 * redis-server in a temp directory (unless REDIS_URL is set), and no other service: the
 * hub's others (alerts, plans, audit, agency-sim) would spend the machine's CPU on their own
 * background work — the audit log appending the MPI's audit stream, BullMQ workers — during
 * the load (they have benchmarks of their own). The MPI under test
 * is a separate process (`--mpi-processes N`: N of them), as deployed: the agency
 * systems sending the load are elsewhere, so this process's client work (HTTP,
 * bookkeeping) must not take the service's CPU (`--mpi-layout in-process` measures
 * the hub's MPI inside this process, as runs before 2026-11-25 did). Load tests use
 * `appendfsync everysec`; `--fsync always` measures the hub's durable default.
 * Progress goes to stderr; ONE JSON line to stdout, also written to
 * bench/results/mpi.json.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import { pino } from 'pino';
import { generatePopulation, type SyntheticAgencyRecord } from '../fixtures/generators/scottish-population.js';
import { toFhirPatient } from '../fixtures/generators/to-fhir.js';
import { issueAccessToken } from '../shared/auth/access-token.js';
import { loadTokenSigningKey } from '../shared/auth/keys.js';
import { PROJECT_ROOT, type ServiceName } from '../shared/config.js';
import { connectRedis, KeySpace, deleteKeysWithPrefix } from '../shared/redis/connection.js';
import { startHub, type RunningHub } from '../services/hub.js';
import { readMpiSettings, type MpiSettings } from '../services/mpi/config.js';
import { estimateModelForRecords } from '../services/mpi/domain/estimate.js';
import { toFeatures } from '../services/mpi/domain/features.js';
import { MpiKeys } from '../services/mpi/keys.js';
import { keepResult, optionsOrExit, progressPrinter } from './common/cli.js';
import { BenchClient } from './common/http-client.js';
import { summarise, timeSequential, type LatencySummary } from './common/latency.js';
import { parseOptions, USAGE, type MpiBenchOptions } from './mpi/options.js';
import { startMpiReplica, type MpiReplica } from './mpi/replicas.js';
import { auditTrailMemory, memoryByKeyKind, pingLatency, rawHsetBaseline, usedMemory } from './mpi/redis-figures.js';
import { bulkRequests, foundSource, matchCount, matchQueries, type BulkRequest } from './mpi/workload.js';

const TARGETS = { bulkLoadRecordsPerSecond: 3000, matchP99Ms: 20, redisBytesPerRecord: 2048 } as const;
const PARTNERSHIP = 'lothian-hscp';
const SCOPES = ['system/Patient.write', 'system/Patient.read'];
const BASELINE_SAMPLES = 1000;
const PROGRESS_EVERY = 10_000;

const progress = progressPrinter('mpi');

async function main(): Promise<void> {
  const options = optionsOrExit(parseOptions, USAGE);

  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'infoshare-bench-mpi-'));
  // The hub's own prefix on a private server (key names count in the memory figure);
  // a unique one on a shared REDIS_URL, deleted afterwards.
  const keyPrefix = process.env.REDIS_URL ? `bench-${randomBytes(4).toString('hex')}` : 'is';
  let hub: RunningHub | undefined;
  try {
    progress(`generating ${options.records} synthetic agency records (seed ${options.seed})`);
    const records = generatePopulation({ seed: options.seed, people: options.records, maxRecords: options.records }).records;

    const env: NodeJS.ProcessEnv = {
      ...process.env,
      INFOSHARE_DATA_DIR: tmp,
      INFOSHARE_REDIS_APPENDFSYNC: options.fsync,
      INFOSHARE_LOG_LEVEL: process.env.INFOSHARE_LOG_LEVEL ?? 'warn',
      // One token per agency lasts the whole run.
      INFOSHARE_TOKEN_TTL_SECONDS: '3600',
      // The re-clustering pass is run and timed once after the load, not by itself in the middle of it.
      INFOSHARE_MPI_RECLUSTER_DELAY: '0',
      // Nor the first estimation, which the hub would otherwise run 30 s after the load (during the timed phases).
      INFOSHARE_MATCH_REESTIMATE_GROWTH: '0',
    };
    const model = ensureModel(env, records, tmp);
    const log = pino({ name: 'bench-mpi', level: env.INFOSHARE_LOG_LEVEL }, pino.destination(2));
    const services: ServiceName[] = options.mpiLayout === 'in-process' ? ['directory', 'mpi'] : ['directory'];
    progress(`starting redis-server (appendfsync ${options.fsync}) and the hub's ${services.join(' + ')} in this process`);
    // Only the records it sends: the demo CareTeams' people would be indexed besides them.
    hub = await startHub({ env, freePorts: true, keyPrefix, log, loadDemoPeople: false, services });
    const result = await runBench(hub, readMpiSettings(env), records, options, model);

    const line = JSON.stringify(result);
    process.stdout.write(`${line}\n`);
    keepResult(options.out, result, 'replace', progress);
  } finally {
    if (hub) {
      if (hub.config.redisUrl) await deleteKeys(hub, keyPrefix);
      await hub.stop();
    }
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

async function runBench(hub: RunningHub, mpiSettings: MpiSettings, records: readonly SyntheticAgencyRecord[], options: MpiBenchOptions, model: string) {
  const { config } = hub;
  const redis = connectRedis(hub.redisUrl);
  const keys = new KeySpace(config.keyPrefix);
  const replicas: MpiReplica[] = [];
  const inProcess = options.mpiLayout === 'in-process';
  const loadClients = inProcess ? [new BenchClient(`http://${config.host}:${config.ports.mpi}`, options.concurrency)] : [];
  try {
    for (let i = loadClients.length; i < options.mpiProcesses; i++) {
      progress(`starting MPI process ${i + 1} of ${options.mpiProcesses} (a separate process on the same Redis)`);
      const replica = await startMpiReplica(config, mpiSettings, hub.redisUrl, { cpuProfileDir: options.mpiCpuProf });
      replicas.push(replica);
      loadClients.push(new BenchClient(replica.url, options.concurrency));
    }
    // $match and the HTTP baseline go to the first MPI process.
    const client = loadClients[0]!;
    const signingKey = await loadTokenSigningKey(config.token);
    const tokens = new Map<string, string>();
    const tokenOf = (agencyId: string): string => {
      let token = tokens.get(agencyId);
      if (!token) {
        token = issueAccessToken({ clientId: agencyId, agency: agencyId, partnership: PARTNERSHIP, scopes: SCOPES }, signingKey, config.token).token;
        tokens.set(agencyId, token);
      }
      return token;
    };

    progress('serialising transaction Bundles and queries');
    const requests = bulkRequests(records, options.bundleSize);
    const queries = matchQueries(records, options.queries + 50, options.seed);
    const rawJsons = records.map((r) => {
      const id = `${r.agencyId}.${r.identifier.value}`;
      return [id, JSON.stringify({ ...toFhirPatient(r), id, meta: { versionId: '1', lastUpdated: new Date().toISOString() } })] as const;
    });

    progress(`baselines: ${BASELINE_SAMPLES} PINGs, ${BASELINE_SAMPLES} GET /health, HSET of ${rawJsons.length} Patient JSONs`);
    const ping = await pingLatency(redis, BASELINE_SAMPLES);
    const health = await timeSequential(BASELINE_SAMPLES, async () => {
      const r = await client.get('/health');
      if (r.status !== 200) throw new Error(`GET /health answered ${r.status}`);
    });
    const rawHset = await rawHsetBaseline(redis, keys.key('bench-raw', 'pat'), rawJsons, options.bundleSize, options.concurrency);

    const memoryBefore = await usedMemory(redis);
    const auditBefore = await auditTrailMemory(redis, config.keyPrefix);
    progress(`bulk load: ${records.length} records in ${requests.length} Bundles of up to ${options.bundleSize}, ${options.concurrency} in flight`);
    const mpiCpu = () => replicas.reduce((sum, r) => sum + (r.cpuSeconds() ?? Number.NaN), 0);
    const cpuBefore = { client: process.cpuUsage(), mpi: mpiCpu(), redis: await redisCpuSeconds(redis) };
    const load = await bulkLoad(loadClients, requests, tokenOf, options.concurrency);
    const clientSeconds = cpuSecondsSince(cpuBefore.client);
    const mpiSeconds = mpiCpu() - cpuBefore.mpi;
    const cpu = {
      // Every Node process of the run: the MPI process(es) and this one (client, directory, and the in-process MPI if measured).
      nodeSeconds: round(clientSeconds + (Number.isNaN(mpiSeconds) ? 0 : mpiSeconds), 1),
      // The separate MPI process(es), all threads (validation workers included); null when none ran or /proc is missing.
      mpiProcessSeconds: replicas.length && !Number.isNaN(mpiSeconds) ? round(mpiSeconds, 1) : null,
      // This process: the load generator (and, with --mpi-layout in-process, the MPI itself).
      clientProcessSeconds: round(clientSeconds, 1),
      redisSeconds: round((await redisCpuSeconds(redis)) - cpuBefore.redis, 1),
    };
    progress(`bulk load: ${load.recordsPerSecond} records/s (${load.seconds.toFixed(1)} s); Bundle latency p50 ${load.bundleLatency.p50Ms} ms, p99 ${load.bundleLatency.p99Ms} ms`);
    const memoryAfter = await usedMemory(redis);
    const auditAfter = await auditTrailMemory(redis, config.keyPrefix);
    const indexed = await redis.hlen(new MpiKeys(keys).records);
    if (indexed !== records.length) throw new Error(`expected ${records.length} records indexed, Redis holds ${indexed}`);

    // The same Bundles again, unchanged (a client retry, or an agency re-sending its whole extract):
    // recognised by each record's content digest, they should cost far less than the first load.
    progress('unchanged re-submission: the same Bundles again');
    const resubmitCpuBefore = { client: process.cpuUsage(), mpi: mpiCpu(), redis: await redisCpuSeconds(redis) };
    const resubmit = await bulkLoad(loadClients, requests, tokenOf, options.concurrency);
    const resubmitMpiSeconds = mpiCpu() - resubmitCpuBefore.mpi;
    const resubmitCpu = {
      mpiProcessSeconds: replicas.length && !Number.isNaN(resubmitMpiSeconds) ? round(resubmitMpiSeconds, 1) : null,
      clientProcessSeconds: round(cpuSecondsSince(resubmitCpuBefore.client), 1),
      redisSeconds: round((await redisCpuSeconds(redis)) - resubmitCpuBefore.redis, 1),
    };
    progress(`unchanged re-submission: ${resubmit.recordsPerSecond} records/s (${resubmit.seconds.toFixed(1)} s)`);

    // The re-clustering pass over the whole index, as it runs after a load (holding the index lock).
    progress('re-clustering pass over the whole index (POST /matching/$recluster)');
    const reviewer = issueAccessToken(
      { clientId: 'nhs-lothian', agency: 'nhs-lothian', partnership: PARTNERSHIP, scopes: [...SCOPES, 'system/Task.review'] },
      signingKey,
      config.token,
    ).token;
    const reclusterStarted = performance.now();
    const reclustered = await client.post('/matching/$recluster', '', reviewer);
    if (reclustered.status !== 200) throw new Error(`$recluster answered ${reclustered.status}: ${reclustered.body.slice(0, 500)}`);
    const recluster: Record<string, number> = { seconds: round((performance.now() - reclusterStarted) / 1000, 2), ...(JSON.parse(reclustered.body) as Record<string, number>) };
    progress(`re-clustering pass: ${recluster.seconds} s, moved ${recluster.moved} record(s), relabelled ${recluster.relabelled}`);
    const stats = await redis.hgetall(new MpiKeys(keys).stats);
    if (Number(stats.unchanged ?? 0) !== records.length) throw new Error(`expected ${records.length} unchanged re-submissions, the MPI counted ${stats.unchanged ?? 0}`);

    progress(`$match: ${options.queries} queries one at a time (after 50 to warm up)`);
    let knownAsked = 0;
    let knownFound = 0;
    let strangersAsked = 0;
    let strangersWithResults = 0;
    const match = await timeSequential(options.queries, async (i) => {
      const q = queries[i]!;
      const r = await client.post('/fhir/Patient/$match', q.body, tokenOf(q.agencyId));
      if (r.status !== 200) throw new Error(`$match answered ${r.status}: ${r.body.slice(0, 500)}`);
      if (i < 50) return;
      if (q.source) {
        knownAsked++;
        if (foundSource(r.body, q.source)) knownFound++;
      } else {
        strangersAsked++;
        if (matchCount(r.body) > 0) strangersWithResults++;
      }
    });
    progress(`$match: p50 ${match.p50Ms} ms, p95 ${match.p95Ms} ms, p99 ${match.p99Ms} ms`);

    progress('memory by kind of key (SCAN + MEMORY USAGE)');
    const byKind = await memoryByKeyKind(redis, config.keyPrefix);
    const total = memoryAfter - memoryBefore;
    const audit = auditAfter - auditBefore;
    const bytesPerRecord = Math.round(total / records.length);
    const bytesExcludingAudit = Math.round((total - audit) / records.length);

    return {
      bench: 'mpi',
      records: records.length,
      bulkLoadRecordsPerSecond: load.recordsPerSecond,
      unchangedResubmissionRecordsPerSecond: resubmit.recordsPerSecond,
      match: { p50Ms: match.p50Ms, p95Ms: match.p95Ms, p99Ms: match.p99Ms, maxMs: match.maxMs, meanMs: match.meanMs, n: match.n },
      redisBytesPerRecord: bytesPerRecord,
      redisBytesPerRecordExcludingAudit: bytesExcludingAudit,
      baseline: {
        rawRedisHsetRecordsPerSecond: rawHset.recordsPerSecond,
        rawRedisHsetBytesPerRecord: rawHset.bytesPerRecord,
        redisPing: pick(ping),
        httpHealth: pick(health),
      },
      targets: {
        bulkLoadRecordsPerSecond: TARGETS.bulkLoadRecordsPerSecond,
        bulkLoadMet: load.recordsPerSecond >= TARGETS.bulkLoadRecordsPerSecond,
        matchP99Ms: TARGETS.matchP99Ms,
        matchP99Met: match.p99Ms <= TARGETS.matchP99Ms,
        redisBytesPerRecord: TARGETS.redisBytesPerRecord,
        // The index's memory: the audit stream grows per exchange, not per record, and is reported apart.
        redisBytesPerRecordMet: bytesExcludingAudit <= TARGETS.redisBytesPerRecord,
        redisBytesPerRecordIncludingAuditMet: bytesPerRecord <= TARGETS.redisBytesPerRecord,
      },
      fsync: options.fsync,
      // MPI processes on the same Redis sharing the bulk load round-robin.
      mpiProcesses: options.mpiProcesses,
      // 'separate': the MPI under test runs in its own process(es), not in the load generator's (runs before 2026-11-25: 'in-process').
      mpiLayout: options.mpiLayout,
      details: {
        bundleSize: options.bundleSize,
        concurrency: options.concurrency,
        bundles: requests.length,
        bulkLoadSeconds: round(load.seconds, 2),
        // CPU time spent during the bulk load: this process (HTTP, validation, matching, client) and redis-server.
        bulkLoadCpu: cpu,
        // The same Bundles sent again unchanged: nothing re-matched or written.
        unchangedResubmissionSeconds: round(resubmit.seconds, 2),
        unchangedResubmissionCpu: resubmitCpu,
        unchangedResubmissionBundleLatency: pick(resubmit.bundleLatency),
        // One re-clustering pass over the whole index after the load: how long it held the index lock, and what it changed.
        recluster,
        bundleLatency: pick(load.bundleLatency),
        registrationOutcomes: Object.fromEntries(Object.entries(stats).map(([k, v]) => [k, Number(v)])),
        matchQueries: {
          known: knownAsked,
          knownFoundShare: round(knownFound / Math.max(1, knownAsked), 4),
          strangers: strangersAsked,
          strangersWithAnyResultShare: round(strangersWithResults / Math.max(1, strangersAsked), 4),
        },
        memory: {
          usedMemoryDeltaBytes: total,
          auditTrailDeltaBytes: audit,
          byKeyKind: byKind,
        },
        model,
        redis: config.redisUrl ? 'REDIS_URL (shared server: memory figures include anything else written meanwhile)' : 'private redis-server',
        node: process.version,
        cpus: os.cpus().length,
        // Other work on the machine slows every figure: the 1-minute load average when the run ended.
        loadAverage: round(os.loadavg()[0]!, 2),
        notes: [
          'redisBytesPerRecord = INFO used_memory after the bulk load minus before, per record (the index, review Tasks and the audit stream);',
          'redisBytesPerRecordExcludingAudit subtracts the audit trail\'s growth over the load (MEMORY USAGE of every {audit} key): the audit stream the MPI writes; the audit service, whose Merkle log and search indexes would add to it, does not run in this benchmark (bench:audit measures it).',
          `appendfsync ${options.fsync}${options.fsync === 'everysec' ? ' (load-test setting; the hub defaults to always)' : ' (the hub\'s durable default)'}.`,
          inProcess
            ? `The MPI under test is the hub's, inside the client's Node process${options.mpiProcesses > 1 ? `, with ${options.mpiProcesses - 1} replica process(es) sharing the load round-robin` : ''}; $match timed against the in-process one.`
            : `The MPI under test runs as ${options.mpiProcesses} separate Node process(es) on the same Redis (round-robin), as deployed; this process only sends the load (and hosts the directory for the JWKS); $match timed against the first.`,
          'Bundles and queries are serialised before timing; one machine (2 cores) runs the client, the MPI and redis-server.',
        ],
      },
    };
  } finally {
    for (const c of loadClients) c.close();
    await Promise.all(replicas.map((r) => r.stop()));
    await redis.quit().catch(() => redis.disconnect());
  }
}

interface LoadResult {
  readonly recordsPerSecond: number;
  readonly seconds: number;
  readonly bundleLatency: LatencySummary;
}

/** Sends the Bundles `concurrency` at a time, round-robin over the MPI processes (as a load balancer would). */
async function bulkLoad(clients: readonly BenchClient[], requests: readonly BulkRequest[], tokenOf: (agencyId: string) => string, concurrency: number): Promise<LoadResult> {
  const total = requests.reduce((s, r) => s + r.records, 0);
  let next = 0;
  let done = 0;
  let reported = 0;
  const latencies: number[] = [];
  const start = performance.now();
  await Promise.all(
    Array.from({ length: concurrency * clients.length }, async () => {
      while (next < requests.length) {
        const index = next++;
        const request = requests[index]!;
        const client = clients[index % clients.length]!;
        const sent = performance.now();
        // A bulk loader asks for the outcome per entry, not the records back (FHIR Prefer: return=minimal).
        const r = await client.post('/fhir', request.body, tokenOf(request.agencyId), { prefer: 'return=minimal' });
        latencies.push(performance.now() - sent);
        if (r.status !== 200) throw new Error(`transaction for ${request.agencyId} answered ${r.status}: ${r.body.slice(0, 1000)}`);
        done += request.records;
        if (done - reported >= PROGRESS_EVERY || done === total) {
          reported = done;
          const seconds = (performance.now() - start) / 1000;
          progress(`  ${done}/${total} records, ${Math.round(done / seconds)} records/s`);
        }
      }
    }),
  );
  const seconds = (performance.now() - start) / 1000;
  return { recordsPerSecond: Math.round(total / seconds), seconds, bundleLatency: summarise(latencies) };
}

/**
 * The matching model the MPI loads: the configured file, or — while the repository
 * has no estimated default yet — one estimated here from the benchmark's own
 * records (EM, no labels), written to the temp directory.
 */
function ensureModel(env: NodeJS.ProcessEnv, records: readonly SyntheticAgencyRecord[], tmp: string): string {
  const file = readMpiSettings(env).matchModelFile;
  if (fs.existsSync(file)) return path.relative(PROJECT_ROOT, file);
  progress(`${path.relative(PROJECT_ROOT, file)} not found: estimating a model from 20,000 of the benchmark's records`);
  const features = records.slice(0, 20_000).map((r, i) =>
    toFeatures({
      id: `${r.agencyId}.${i}`,
      agency: r.agencyId,
      given: r.given,
      family: r.family,
      birthDate: r.birthDate,
      gender: r.gender,
      postcode: r.postcode,
      addressLine: r.addressLine,
      phone: r.phone,
      chi: r.chi,
    }),
  );
  const model = estimateModelForRecords(features, { source: 'bench:mpi', description: 'Estimated by bench:mpi from its synthetic records' });
  const out = path.join(tmp, 'match-model.json');
  fs.writeFileSync(out, JSON.stringify(model));
  env.INFOSHARE_MATCH_MODEL_FILE = out;
  return 'estimated in this run (no default-model.json)';
}

/** redis-server's CPU time so far (main process, user + system). */
async function redisCpuSeconds(redis: Redis): Promise<number> {
  const info = await redis.info('cpu');
  const field = (name: string) => Number(new RegExp(`^${name}:([\\d.]+)`, 'm').exec(info)?.[1] ?? 0);
  return field('used_cpu_user') + field('used_cpu_sys');
}

function cpuSecondsSince(start: NodeJS.CpuUsage): number {
  const used = process.cpuUsage(start);
  return (used.user + used.system) / 1e6;
}

async function deleteKeys(hub: RunningHub, prefix: string): Promise<void> {
  const redis = connectRedis(hub.redisUrl);
  try {
    await deleteKeysWithPrefix(redis, prefix);
  } finally {
    await redis.quit().catch(() => redis.disconnect());
  }
}

function pick(s: LatencySummary) {
  return { p50Ms: s.p50Ms, p95Ms: s.p95Ms, p99Ms: s.p99Ms };
}

function round(x: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`[bench:mpi] failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
