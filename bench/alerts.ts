/**
 * `npm run bench:alerts` — structured alerts end to end (issue 11, item 10).
 *
 * In one run, on one private redis-server with the hub's durable setting
 * (AOF, `appendfsync always`; `--fsync everysec` only as a diagnosis of what
 * the disk's fsyncs cost — the targets are about `always`):
 *
 * 1. Raw BullMQ: the hub's enqueue mode (one `addBulk` per alert, a job per
 *    recipient, deterministic ids), the same job data and options, a processor
 *    that does nothing → `rawBullmqJobsPerSecond`.
 * 2. The hub — directory, MPI and alerts in a process of their own, as
 *    `infoshare start` runs them, agency-sim in another — with the demo partnership: alerts raised
 *    over HTTP with real access tokens, each routed by the ISP to six agencies,
 *    delivered to agency-sim over HTTP (signed delivery token, response
 *    message) and acknowledged. Throughput: as many alerts as the hub takes at
 *    `--concurrency` requests in flight, timed from the first request to the
 *    last acknowledgement → `deliveriesPerSecond`, `ratio`.
 * 3. Latency at a fixed offered rate (`--rate`, 100 alerts/s, open loop: each
 *    alert is sent at its scheduled time whether or not earlier ones were
 *    answered, and timed from that time): the sender's wait for "accepted"
 *    (`acceptP50Ms`/`acceptP99Ms`) and raised → acknowledged by every recipient,
 *    from the hub's delivery records (`endToEndP50Ms`/`endToEndP99Ms`).
 *
 * Progress on stderr; ONE JSON line on stdout, also appended to
 * bench/results/alerts.json (a list of runs).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { randomBytes } from 'node:crypto';
import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { demoAgencyKey } from '../shared/client/demo-keys.js';
import { getAccessToken } from '../shared/client/token.js';
import { loadConfig } from '../shared/config.js';
import { createLogger } from '../shared/log.js';
import { jobIdOf, openQueue } from '../shared/queue/queues.js';
import { connectRedis, KeySpace } from '../shared/redis/connection.js';
import { ensureRedis, redisDataDir } from '../shared/redis/server.js';
import { messageIdOf } from '../services/alerts/domain/ids.js';
import { AlertsKeys } from '../services/alerts/keys.js';
import { loadAlertsConfig } from '../services/alerts/config.js';
import { retryPolicyOf } from '../services/alerts/module.js';
import { DELIVERIES_QUEUE, deliveryJobOptions } from '../services/alerts/workers/deliveries.js';
import { startBenchHub, type BenchHub } from './alerts/hub.js';
import { AofFsyncStalls, diskFsyncProbe } from './alerts/fsync.js';
import { setDeliveryBatchSize } from './alerts/batched-endpoints.js';
import { parseOptions, USAGE, type AlertsBenchOptions } from './alerts/options.js';
import { rawBullmqBaseline, type RawBullmqResult } from './alerts/raw-bullmq.js';
import { alertMessage, BENCH_CATEGORY, BENCH_SENDER, subjectsTransaction } from './alerts/workload.js';
import { optionsOrExit, keepResult, progressPrinter } from './common/cli.js';
import { BenchClient } from './common/http-client.js';
import { summarise, type LatencySummary } from './common/latency.js';
import { redisCpuSeconds } from './common/process-cpu.js';

const TARGETS = { ratio: 0.5, acceptP99Ms: 25, endToEndP99Ms: 250 } as const;
/** The raw baseline's worker concurrency besides the hub's own (BullMQ's loop does best near it on 2 cores). */
const RAW_WORKER_CONCURRENCY = 128;
const PROGRESS_EVERY_MS = 2_000;
const DRAIN_TIMEOUT_MS = 600_000;
/** How long an interrupted run waits for its processes to stop before it leaves anyway. */
const INTERRUPT_STOP_MS = 30_000;

const progress = progressPrinter('alerts');

async function main(): Promise<void> {
  const options = optionsOrExit(parseOptions, USAGE);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'infoshare-bench-alerts-'));
  // Always a private server, with the hub's durable setting unless --fsync everysec asks (a diagnosis): the figures are about that configuration.
  const env: NodeJS.ProcessEnv = { ...process.env, INFOSHARE_DATA_DIR: tmp, INFOSHARE_REDIS_APPENDFSYNC: options.fsync };
  delete env.REDIS_URL;
  const config = loadConfig(env);
  const log = createLogger('bench-alerts', 'warn');
  progress(`starting a private redis-server (AOF, appendfsync ${options.fsync}${options.fsync === 'always' ? '' : ': a diagnosis — the targets are about always'})`);
  const redisHandle = await ensureRedis(config, log);
  const redis = connectRedis(redisHandle.url);
  let hub: BenchHub | undefined;
  // Ctrl-C or a SIGTERM mid-run: the hub, its delivery processes, agency-sim and redis-server run in processes of their
  // own and outlived the bench (found running after an interrupted run); stop them first, as the end of a run does.
  const interrupted = (signal: NodeJS.Signals): void => {
    progress(`${signal}: stopping the hub, agency-sim and redis-server`);
    setTimeout(() => process.exit(130), INTERRUPT_STOP_MS).unref();
    void (async () => {
      await hub?.stop().catch(() => undefined);
      await redisHandle.stop().catch(() => undefined);
      fs.rmSync(tmp, { recursive: true, force: true });
    })().finally(() => process.exit(130));
  };
  process.once('SIGINT', interrupted);
  process.once('SIGTERM', interrupted);
  try {
    // One hub per variant asked for (delivery concurrency × nice, repeated: interleaved on a shared machine), in
    // turn, each under a key prefix of its own, against one raw baseline.
    const defaults = loadAlertsConfig(process.env);
    const concurrencies = options.deliveryConcurrency.length > 0 ? options.deliveryConcurrency : [defaults.deliveryConcurrency];
    const nices = options.deliveryNice.length > 0 ? options.deliveryNice : [defaults.deliveryNice];
    const variants = Array.from({ length: options.repeat }, () => concurrencies.flatMap((deliveryConcurrency) => nices.map((deliveryNice) => ({ deliveryConcurrency, deliveryNice })))).flat();
    let raw: RawBaseline | undefined;
    const runs: Awaited<ReturnType<typeof runBench>>['result'][] = [];
    for (const [i, variant] of variants.entries()) {
      const keyPrefix = i === 0 ? 'is' : `is-v${i}`;
      const run = await runBench(redis, redisHandle.url, tmp, redisDataDir(config), options, { ...variant, keyPrefix, ...(raw ? { raw } : {}) }, (h) => (hub = h));
      raw ??= run.raw;
      runs.push(run.result);
      await hub?.stop();
      hub = undefined;
    }
    const result = runs.length === 1 ? runs[0]! : { ...runs[0]!, byVariant: runs.map(variantSummary) };
    const line = JSON.stringify(result);
    process.stdout.write(`${line}\n`);
    keepResult(options.out, result, 'append', progress);
  } finally {
    await hub?.stop();
    await redis.quit().catch(() => redis.disconnect());
    await redisHandle.stop();
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

/** The raw BullMQ baseline of a run (measured once, before the first hub's load). */
interface RawBaseline {
  readonly best: RawBullmqResult & { readonly workerConcurrency: number };
  readonly runs: readonly (RawBullmqResult & { readonly workerConcurrency: number })[];
}

/** What one hub's measurement adds to `byVariant`. */
function variantSummary(r: Awaited<ReturnType<typeof runBench>>['result']) {
  return {
    deliveryConcurrency: r.deliveryConcurrency,
    deliveryNice: r.deliveryNice,
    deliveriesPerSecond: r.deliveriesPerSecond,
    ratio: r.ratio,
    cpuRatio: r.cpuRatio,
    cpuMsPerDelivery: r.cpuMsPerDelivery,
    acceptP99Ms: r.acceptP99Ms,
    hubRunQueueWaitMsPerAlert: r.hubRunQueueWaitMsPerAlert,
    endToEndP50Ms: r.endToEndP50Ms,
    endToEndP99Ms: r.endToEndP99Ms,
    batchSizeP50: r.batchSizeP50,
    latencyBatchSizeP50: r.latencyBatchSizeP50,
    latencyCpuMsPerDelivery: r.latencyCpuMsPerDelivery,
  };
}

async function runBench(
  redis: Redis,
  redisUrl: string,
  tmp: string,
  /** Where the bench's Redis keeps its AOF (the disk probe writes beside it). */
  redisDir: string,
  options: AlertsBenchOptions,
  run: { readonly deliveryConcurrency: number; readonly deliveryNice: number; readonly keyPrefix: string; readonly raw?: RawBaseline },
  started: (hub: BenchHub) => void,
) {
  const { keyPrefix, deliveryConcurrency, deliveryNice } = run;
  // The alerts service's settings as the hub process reads them (same environment): its worker concurrency and job options.
  const variantEnv = { INFOSHARE_ALERTS_DELIVERY_CONCURRENCY: String(deliveryConcurrency), INFOSHARE_ALERTS_DELIVERY_NICE: String(deliveryNice) };
  const alertsConfig = loadAlertsConfig({ ...process.env, ...variantEnv });
  const runId = randomBytes(3).toString('hex');

  // The hub, started first only to learn the recipients of the benchmark's alerts; the raw baseline runs before any load.
  progress('starting the hub (directory, MPI, alerts) and agency-sim in processes of their own, with the demo partnership');
  const hub = await startBenchHub({
    redisUrl,
    keyPrefix,
    dataDir: tmp,
    env: { INFOSHARE_ALERTS_DELIVERY_PROCESSES: String(options.deliveryProcesses), ...variantEnv },
    ...(options.hubCpuProf ? { cpuProfileDir: options.hubCpuProf } : {}),
  });
  started(hub);
  const alertsUrl = hub.urls.alerts;
  const mpiUrl = hub.urls.mpi;
  const missing = ['directory', 'mpi', 'alerts', 'agency-sim'].filter((name) => !hub.urls[name]);
  if (missing.length > 0 || !alertsUrl || !mpiUrl) throw new Error(`bench:alerts needs ${missing.join(', ')} in the hub, which runs only ${Object.keys(hub.urls).join(', ')}`);
  const token = (await getAccessToken({ agencyId: BENCH_SENDER, tokenUrl: `${hub.urls.directory}/auth/token`, privateKeyPem: await demoAgencyKey(BENCH_SENDER) })).access_token;
  const alerts = new BenchClient(alertsUrl, Math.max(options.concurrency, 64));
  const mpi = new BenchClient(mpiUrl, 4);
  const keys = new AlertsKeys(new KeySpace(keyPrefix));
  const queue = openQueue({ redis, keys: new KeySpace(keyPrefix) }, DELIVERIES_QUEUE);
  try {
    progress(`registering ${options.subjects} children as ${BENCH_SENDER}'s records with the MPI`);
    await registerSubjects(mpi, token, runId, options.subjects);

    let sent = 0;
    const raise = async (): Promise<RaiseResult> => {
      const i = sent++;
      const body = JSON.stringify(alertMessage(BENCH_SENDER, BENCH_CATEGORY, runId, i, i % options.subjects));
      const r = await alerts.post('/fhir/$process-message', body, token);
      if (r.status !== 200) throw new Error(`raising alert ${i} answered ${r.status}: ${r.body.slice(0, 800)}`);
      return { messageId: messageIdOf(BENCH_SENDER, `bench-msg-${runId}-${i}`) };
    };

    // One alert first, to learn where the ISP routes them (as the hub stored it: every alert of the run has the same
    // sender and category) and let the recipients opt in before the warm-up, so the warm-up runs the measured path.
    const first = await raise();
    const recipients = JSON.parse((await redis.hget(keys.message(first.messageId), 'recipients')) ?? '[]') as string[];
    progress(`each alert goes to ${recipients.length} agencies: ${recipients.join(', ')}`);
    if (options.delivery === 'batched') {
      progress(`the recipients opt in to batched delivery: up to ${options.batchSize} messages per request`);
      for (const agency of recipients) await setDeliveryBatchSize(hub.urls.directory!, agency, options.batchSize);
    }
    progress(`warming up: ${options.warmup} alerts`);
    const warm: RaiseResult[] = [first];
    await Promise.all(
      Array.from({ length: options.concurrency }, async () => {
        while (sent < options.warmup) warm.push(await raise());
      }),
    );
    await drain(queue, warm.length * recipients.length, 'warm-up');
    await expectAcknowledged(redis, keys, warm, recipients);
    const batches = new BatchSizes(hub.urls['agency-sim']!, recipients);
    if (recipients.length < 6) progress(`WARNING: the issue asks for at least 6 recipients per alert; the ISP routes this one to ${recipients.length}`);

    // 1. Raw BullMQ, on the same Redis, before the hub's measured load.
    const origin = { requestId: `bench-${runId}-0000000000000000`, agent: { clientId: BENCH_SENDER, agency: BENCH_SENDER, partnership: 'lothian-hscp' } };
    // At the hub's worker concurrency, and at RAW_WORKER_CONCURRENCY when that differs: the faster counts, so a
    // concurrency that suits the hub's batches but slows BullMQ's own loop never flatters the ratio.
    const rawRuns: (RawBullmqResult & { workerConcurrency: number })[] = [...(run.raw?.runs ?? [])];
    for (const workerConcurrency of run.raw ? [] : new Set([alertsConfig.deliveryConcurrency, RAW_WORKER_CONCURRENCY])) {
      const measured = await rawBullmqBaseline(
        redis,
        {
          alerts: options.alerts,
          recipients,
          producerConcurrency: options.concurrency,
          workerConcurrency,
          // The options the hub adds delivery jobs with (attempts backstop, its own backoff type, retention).
          jobOptions: deliveryJobOptions(retryPolicyOf(alertsConfig)),
          origin,
        },
        progress,
      );
      progress(`raw BullMQ, worker concurrency ${workerConcurrency}: ${measured.jobsPerSecond} jobs/s`);
      rawRuns.push({ workerConcurrency, ...measured });
    }
    const raw = rawRuns.reduce((best, r) => (r.jobsPerSecond > best.jobsPerSecond ? r : best));
    progress(`${run.raw ? '(measured before the first hub) ' : ''}raw BullMQ: ${raw.jobsPerSecond} jobs/s (${raw.jobs} jobs of ${raw.jobBytes} B in ${raw.seconds.toFixed(2)} s)`);

    // 2. Throughput through the hub.
    progress(`throughput: ${options.alerts} alerts, ${options.concurrency} requests in flight`);
    const completedBefore = await completedJobs(queue);
    await batches.mark();
    const cpuBefore = { hub: hub.cpuSeconds(), hubMain: hub.mainCpuSeconds(), hubEventLoop: hub.eventLoopCpuSeconds(), sim: hub.simCpuSeconds(), redis: await redisCpuSeconds(redis), client: process.cpuUsage() };
    const commandsBefore = await redisCommandStats(redis);
    const startWall = Date.now();
    const start = performance.now();
    const raised: RaiseResult[] = [];
    let next = 0;
    await Promise.all(
      Array.from({ length: options.concurrency }, async () => {
        while (next < options.alerts) {
          next++;
          raised.push(await raise());
        }
      }),
    );
    const acceptedSeconds = (performance.now() - start) / 1000;
    progress(`throughput: ${options.alerts} alerts accepted in ${acceptedSeconds.toFixed(2)} s (${Math.round(options.alerts / acceptedSeconds)} alerts/s); waiting for every delivery`);
    await drain(queue, completedBefore + raised.length * recipients.length, 'throughput');
    const ackTimes = await expectAcknowledged(redis, keys, raised, recipients);
    const throughputBatches = await batches.sinceMark();
    const lastAck = Math.max(...ackTimes.map((t) => t.lastAckMs));
    const throughputSeconds = (lastAck - startWall) / 1000;
    const deliveries = raised.length * recipients.length;
    const deliveriesPerSecond = Math.round(deliveries / throughputSeconds);
    const cpu = {
      hubProcessSeconds: round((hub.cpuSeconds() ?? Number.NaN) - (cpuBefore.hub ?? Number.NaN), 1),
      hubMainProcessSeconds: round((hub.mainCpuSeconds() ?? Number.NaN) - (cpuBefore.hubMain ?? Number.NaN), 1),
      hubEventLoopSeconds: round((hub.eventLoopCpuSeconds() ?? Number.NaN) - (cpuBefore.hubEventLoop ?? Number.NaN), 2),
      agencySimProcessSeconds: round((hub.simCpuSeconds() ?? Number.NaN) - (cpuBefore.sim ?? Number.NaN), 1),
      redisSeconds: round((await redisCpuSeconds(redis)) - cpuBefore.redis, 1),
      clientProcessSeconds: round(cpuSecondsSince(cpuBefore.client), 1),
    };
    const redisCommands = redisCommandsPerDelivery(commandsBefore, await redisCommandStats(redis), raised.length * recipients.length);
    // CPU per delivery (accepting its share of the alert included), per process: the figure a busy machine does not blur.
    const perDelivery = (seconds: number) => round((seconds * 1000) / deliveries, 2);
    const cpuMsPerDelivery = {
      hub: perDelivery(cpu.hubProcessSeconds),
      // Of the hub's: its delivery worker processes (the hub less its own process, which accepts).
      deliveryProcesses: perDelivery(cpu.hubProcessSeconds - cpu.hubMainProcessSeconds),
      agencySim: perDelivery(cpu.agencySimProcessSeconds),
      redis: perDelivery(cpu.redisSeconds),
      // Every process of the exchange, this one's sending included: what a delivery costs the machine.
      total: perDelivery(cpu.hubProcessSeconds + cpu.agencySimProcessSeconds + cpu.redisSeconds + cpu.clientProcessSeconds),
    };
    // The ratio in CPU terms (raw BullMQ's CPU per job over the hub's per delivery): on a CPU-bound machine what the
    // throughput ratio comes to, without the machine's other load in it.
    const cpuRatio = round(raw.cpuMsPerJob.total / cpuMsPerDelivery.total, 3);
    // Accepting: the hub's own process (its services) per alert; delivering happens in the delivery worker processes.
    const cpuMsPerAccept = options.deliveryProcesses > 0 ? round((cpu.hubMainProcessSeconds * 1000) / options.alerts, 2) : undefined;
    // Of which on the hub's event loop (its main thread): what every request waits behind; validation runs on worker threads.
    const eventLoopCpuMsPerAccept = options.deliveryProcesses > 0 ? round((cpu.hubEventLoopSeconds * 1000) / options.alerts, 2) : undefined;
    progress(`throughput: CPU per delivery: hub ${cpuMsPerDelivery.hub} ms, agency-sim ${cpuMsPerDelivery.agencySim} ms, redis-server ${cpuMsPerDelivery.redis} ms`);
    progress(`throughput: ${deliveries} deliveries acknowledged in ${throughputSeconds.toFixed(2)} s → ${deliveriesPerSecond}/s (raw BullMQ ${raw.jobsPerSecond}/s)`);

    // 3. Latency at a fixed offered rate.
    const count = options.rate * options.seconds;
    // The disk under Redis, while nothing of the bench runs (every delivery drained): what each fsync'd turn waits.
    const diskFsync = diskFsyncProbe(redisDir);
    progress(`disk: fdatasync after a ${diskFsync.bytes} B append beside the AOF, ${diskFsync.writes} in a row: p50 ${diskFsync.p50Ms} ms, p99 ${diskFsync.p99Ms} ms, max ${diskFsync.maxMs} ms`);
    const fsyncStalls = new AofFsyncStalls(redis);
    progress(`latency: ${count} alerts at ${options.rate}/s (open loop)`);
    const completedBeforeLatency = await completedJobs(queue);
    await batches.mark();
    await hub.eventLoopDelay();
    const latencyCpuBefore = { hub: hub.cpuSeconds(), hubMain: hub.mainCpuSeconds(), hubEventLoop: hub.eventLoopCpuSeconds(), sim: hub.simCpuSeconds(), redis: await redisCpuSeconds(redis), hubWait: hub.eventLoopRunQueueWaitSeconds(), client: process.cpuUsage() };
    const latencyCommandsBefore = await redisCommandStats(redis);
    await fsyncStalls.start();
    const latency = await offerAtRate(raise, options.rate, count);
    // While the alerts were offered: how long the accepting event loop waited for a CPU (other processes' work), per alert.
    const hubRunQueueWaitMsPerAlert = round((((hub.eventLoopRunQueueWaitSeconds() ?? Number.NaN) - (latencyCpuBefore.hubWait ?? Number.NaN)) * 1000) / count, 3);
    // While the alerts were offered: how long the hub's own process made work wait (accepting included).
    const hubEventLoopDelayMs = await hub.eventLoopDelay();
    await drain(queue, completedBeforeLatency + count * recipients.length, 'latency');
    const aofFsyncAlways = await fsyncStalls.read();
    // Read before this process's own reads of the delivery records below: the hub's and agency-sim's commands only.
    const latencyRedisCommands = redisCommandsPerDelivery(latencyCommandsBefore, await redisCommandStats(redis), count * recipients.length);
    const latencyAcks = await expectAcknowledged(redis, keys, latency.map((l) => l.raised), recipients);
    // CPU per delivery at the fixed rate (not a backlog: what the offered load costs with this many attempts in flight).
    const latencyDeliveries = count * recipients.length;
    const latencyPerDelivery = (now: number | undefined, before: number | undefined) => round((((now ?? Number.NaN) - (before ?? Number.NaN)) * 1000) / latencyDeliveries, 2);
    const hubNow = hub.cpuSeconds();
    const hubMainNow = hub.mainCpuSeconds();
    const latencyCpuMsPerDelivery = {
      hub: latencyPerDelivery(hubNow, latencyCpuBefore.hub),
      deliveryProcesses: latencyPerDelivery((hubNow ?? Number.NaN) - (hubMainNow ?? Number.NaN), (latencyCpuBefore.hub ?? Number.NaN) - (latencyCpuBefore.hubMain ?? Number.NaN)),
      agencySim: latencyPerDelivery(hub.simCpuSeconds(), latencyCpuBefore.sim),
      redis: latencyPerDelivery(await redisCpuSeconds(redis), latencyCpuBefore.redis),
      // This process sending the alerts (in the total below too).
      client: round((cpuSecondsSince(latencyCpuBefore.client) * 1000) / latencyDeliveries, 2),
      // Every process of the exchange, this one's sending included, as cpuMsPerDelivery.total.
      total: latencyPerDelivery(
        (hubNow ?? Number.NaN) + (hub.simCpuSeconds() ?? Number.NaN) + (await redisCpuSeconds(redis)) + cpuSecondsSince(latencyCpuBefore.client),
        (latencyCpuBefore.hub ?? Number.NaN) + (latencyCpuBefore.sim ?? Number.NaN) + latencyCpuBefore.redis,
      ),
    };
    // Accepting at the fixed rate, per alert offered: the hub's own process (its delivery processes left out), and of
    // that its event loop; the rest is its validation thread(s) and the runtime's own threads (GC, libuv).
    const latencyPerAccept = (now: number | undefined, before: number | undefined) => round((((now ?? Number.NaN) - (before ?? Number.NaN)) * 1000) / count, 2);
    const latencyCpuMsPerAccept =
      options.deliveryProcesses > 0 ? { hubProcess: latencyPerAccept(hubMainNow, latencyCpuBefore.hubMain), eventLoop: latencyPerAccept(hub.eventLoopCpuSeconds(), latencyCpuBefore.hubEventLoop) } : undefined;
    // The share of the machine's cores the offered rate keeps busy at that CPU per delivery: the end-to-end p99 is a
    // queue's tail, and a queue near a full machine has a long one (session 19's quiet run: about 0.8, and a p99 of ~1 s).
    const latencyCpuDemand = round((latencyCpuMsPerDelivery.total * options.rate * recipients.length) / (1000 * os.cpus().length), 2);
    const latencyBatches = await batches.sinceMark();
    const stages = await deliveryStages(redis, queue, keys, latency, recipients);
    const endToEnd = summarise(latency.map((l, i) => latencyAcks[i]!.lastAckMs - l.scheduledWallMs));
    const accept = summarise(latency.map((l) => l.acceptMs));
    progress(`latency: accept p50 ${accept.p50Ms} ms, p99 ${accept.p99Ms} ms; raised → acknowledged by all p50 ${endToEnd.p50Ms} ms, p99 ${endToEnd.p99Ms} ms`);
    progress(`latency: Redis's fsyncs (appendfsync always) of 1 ms or more in ${aofFsyncAlways.seconds} seconds of the phase, the longest per second p50 ${aofFsyncAlways.p50OfMaxMs} ms, max ${aofFsyncAlways.maxMs} ms`);
    progress(`latency: per delivery p50/p99 ms — queued ${stages.queued.p50Ms}/${stages.queued.p99Ms}, waiting ${stages.waiting.p50Ms}/${stages.waiting.p99Ms}, attempt ${stages.attempt.p50Ms}/${stages.attempt.p99Ms}, finishing ${stages.finishing.p50Ms}/${stages.finishing.p99Ms}`);

    const ratio = round(deliveriesPerSecond / raw.jobsPerSecond, 3);
    const result = {
      bench: 'alerts',
      deliveriesPerSecond,
      rawBullmqJobsPerSecond: raw.jobsPerSecond,
      ratio,
      cpuRatio,
      rawCpuMsPerJob: raw.cpuMsPerJob,
      baselineMode: `addBulk per alert (${recipients.length} jobs, ${options.concurrency} in flight), worker concurrency ${raw.workerConcurrency} (the faster of ${rawRuns.map((r) => r.workerConcurrency).join(' and ')}), no-op processor`,
      acceptP50Ms: accept.p50Ms,
      acceptP99Ms: accept.p99Ms,
      endToEndP50Ms: endToEnd.p50Ms,
      endToEndP99Ms: endToEnd.p99Ms,
      recipientsPerAlert: recipients.length,
      deliveryMode: options.delivery,
      batchSizeP50: throughputBatches.p50,
      batchSizeMax: throughputBatches.max,
      latencyBatchSizeP50: latencyBatches.p50,
      deliveryProcesses: options.deliveryProcesses,
      deliveryConcurrency,
      deliveryNice,
      cpuMsPerDelivery,
      latencyCpuMsPerDelivery,
      latencyCpuDemand,
      ...(cpuMsPerAccept !== undefined ? { cpuMsPerAccept } : {}),
      ...(eventLoopCpuMsPerAccept !== undefined ? { eventLoopCpuMsPerAccept } : {}),
      ...(latencyCpuMsPerAccept !== undefined ? { latencyCpuMsPerAccept } : {}),
      hubEventLoopDelayMs,
      hubRunQueueWaitMsPerAlert,
      diskFsyncMs: { p50Ms: diskFsync.p50Ms, p99Ms: diskFsync.p99Ms, maxMs: diskFsync.maxMs },
      targets: {
        ratio: TARGETS.ratio,
        ratioMet: ratio >= TARGETS.ratio,
        acceptP99Ms: TARGETS.acceptP99Ms,
        acceptP99Met: accept.p99Ms <= TARGETS.acceptP99Ms,
        endToEndP99Ms: TARGETS.endToEndP99Ms,
        endToEndP99Met: endToEnd.p99Ms <= TARGETS.endToEndP99Ms,
        ...(options.fsync === 'always' ? {} : { note: `appendfsync ${options.fsync}: a diagnosis; the targets are about always` }),
      },
      fsync: options.fsync,
      details: {
        runAt: new Date().toISOString(),
        sender: BENCH_SENDER,
        category: BENCH_CATEGORY,
        recipients,
        throughput: {
          alerts: options.alerts,
          warmupAlerts: options.warmup,
          concurrency: options.concurrency,
          deliveries,
          seconds: round(throughputSeconds, 2),
          acceptedAlertsPerSecond: Math.round(options.alerts / acceptedSeconds),
          cpu,
          redisCommands,
        },
        rawBullmq: { jobs: raw.jobs, seconds: round(raw.seconds, 2), jobBytes: raw.jobBytes, workerConcurrency: raw.workerConcurrency, runs: rawRuns.map((r) => ({ workerConcurrency: r.workerConcurrency, jobsPerSecond: r.jobsPerSecond })) },
        latency: { offeredRatePerSecond: options.rate, alerts: count, accept: pick(accept), endToEnd: pick(endToEnd), stages, redisCommands: latencyRedisCommands, diskFsync, aofFsyncAlways },
        subjects: options.subjects,
        node: process.version,
        cpus: os.cpus().length,
        loadAverage: round(os.loadavg()[0]!, 2),
        notes: [
          'deliveriesPerSecond: deliveries acknowledged (each a signed POST to agency-sim answered with a response message ok) per second, from the first raise to the last acknowledgement recorded by the hub.',
          'acceptMs: from the time the alert was due to be sent (open loop) to the 200 answer; endToEndMs: from the same time to the last recipient acknowledgement in the delivery records (ms resolution).',
          'The hub (directory, MPI, alerts, and the alerts delivery worker processes when INFOSHARE_ALERTS_DELIVERY_PROCESSES asks for them) runs in processes of its own, agency-sim in another; this process only sends the load. One machine (2 cores) runs the client, the hub, agency-sim and redis-server.',
          'deliveryMode batched: the recipients opted in (their Endpoints state a batch size, --batch-size), so the hub sends the messages queued for one of them together in one request (FHIR batch Bundle, one delivery token, a batch-response with each message\'s own acknowledgement); batchSizeP50/batchSizeMax: messages per request in the throughput phase (latencyBatchSizeP50: in the latency phase), as agency-sim counted them (1 = requests of one message). deliveryMode single: one message per request. The raw BullMQ baseline is the same either way (the hub still queues one job per delivery).',
          'cpuMsPerAccept: CPU time of the hub\'s own process (directory, MPI, alerts: taking the alerts) in the throughput phase per alert raised, its delivery worker processes left out (only with --delivery-processes 1 or more).',
          'eventLoopCpuMsPerAccept: the part of cpuMsPerAccept spent on the hub process\'s main thread (its event loop, which every request waits on), its worker threads (validation) left out.',
          'cpuRatio: raw BullMQ\'s CPU time per job (rawCpuMsPerJob: this process, which produced and worked the jobs, and redis-server) divided by the hub\'s per delivery (cpuMsPerDelivery.total: hub, its delivery processes, agency-sim, redis-server and this process sending the alerts) — on a CPU-bound machine what `ratio` comes to, without the other load on a shared machine in it.',
          'details.throughput.redisCommands: redis-server\'s own time per delivery by command over the throughput phase (INFO commandstats; a script\'s commands are counted both in themselves and in its evalsha), costliest first; details.latency.redisCommands: the same over the latency phase (the fixed offered rate: small batches, where per-request and per-batch costs show).',
          'latencyCpuMsPerAccept: over the latency phase (the fixed offered rate) and its drain, CPU time of the hub\'s own process per alert offered (hubProcess: its delivery worker processes left out) and of its main thread (eventLoop); the difference is its validation thread and the runtime\'s threads. latencyCpuMsPerDelivery.client: this process sending the alerts, per delivery (in .total too). With latencyCpuMsPerDelivery, the CPU budget of the fixed rate by process (session 27).',
          'hubRunQueueWaitMsPerAlert: while the latency phase offered its alerts, the time the hub process\'s main thread (its event loop, where alerts are accepted) waited runnable for a CPU — other processes\' work, the delivery processes\' included — per alert offered (/proc schedstat).',
          'diskFsyncMs (details.latency.diskFsync): right before the latency phase, with every delivery drained, this process appended a record beside the AOF and fdatasync\'d it, a few hundred times in a row: what the disk makes each of Redis\'s write turns wait (with appendfsync always Redis fsyncs in its main thread once per event-loop turn that wrote, before replying to any command of that turn, reads included). Not CPU: the CPU figures do not show it. details.latency.aofFsyncAlways: Redis\'s latency monitor (threshold 1 ms) over the latency phase and its drain: the seconds with an aof-fsync-always of 1 ms or more, and the median and largest of those seconds\' longest fsync (Redis keeps per-second maxima, not counts).',
          'hubEventLoopDelayMs: the event-loop delay of the hub\'s own process (where alerts are accepted) while the latency phase offered its alerts (monitorEventLoopDelay, 5 ms resolution).',
          'cpuMsPerDelivery: CPU time of the throughput phase (accepting the alerts included) divided by its deliveries, per process: hub (with its delivery worker processes; deliveryProcesses: those alone), agency-sim, redis-server. latencyCpuMsPerDelivery: the same over the latency phase (the fixed offered rate, no backlog). latencyCpuDemand: latencyCpuMsPerDelivery.total × the deliveries offered per second ÷ (1,000 × cores) — the share of the machine the offered rate keeps busy; the end-to-end p99 is the tail of a queue, long as this nears 1.',
          'deliveryConcurrency: attempts in flight per delivery worker process (INFOSHARE_ALERTS_DELIVERY_CONCURRENCY); deliveryNice: how far below the hub process\'s CPU priority they run (INFOSHARE_ALERTS_DELIVERY_NICE). byVariant (with --delivery-concurrency a,b,… / --delivery-nice a,b,… / --repeat n): a hub per combination, the list repeated n times (interleaved), measured in turn in the same run against the one raw baseline; the line\'s own figures are the first variant\'s.',
        ],
      },
    };
    return { result, raw: { best: raw, runs: rawRuns } satisfies RawBaseline };
  } finally {
    alerts.close();
    mpi.close();
    await queue.close();
  }
}

/** Messages per batch request as agency-sim counts them (per recipient, summed), between a mark and now. */
class BatchSizes {
  private marked = new Map<number, number>();

  constructor(
    private readonly simUrl: string,
    private readonly agencies: readonly string[],
  ) {}

  private async read(): Promise<Map<number, number>> {
    const sizes = new Map<number, number>();
    for (const agency of this.agencies) {
      const res = await fetch(`${this.simUrl}/agencies/${agency}/received?summary=true&count=1`);
      const report = (await res.json()) as { batchSizes?: Record<string, number> };
      for (const [size, n] of Object.entries(report.batchSizes ?? {})) sizes.set(Number(size), (sizes.get(Number(size)) ?? 0) + n);
    }
    return sizes;
  }

  async mark(): Promise<void> {
    this.marked = await this.read();
  }

  /** The median and largest batch (messages per request) since the mark; 1 when no batch was sent. */
  async sinceMark(): Promise<{ p50: number; max: number }> {
    const now = await this.read();
    const requests = [...now]
      .map(([size, n]) => [size, n - (this.marked.get(size) ?? 0)] as const)
      .filter(([, n]) => n > 0)
      .sort((a, b) => a[0] - b[0]);
    const total = requests.reduce((sum, [, n]) => sum + n, 0);
    if (total === 0) return { p50: 1, max: 1 };
    let seen = 0;
    const p50 = requests.find(([, n]) => (seen += n) >= total / 2)![0];
    return { p50, max: requests[requests.length - 1]![0] };
  }
}

interface RaiseResult {
  readonly messageId: string;
}

async function registerSubjects(mpi: BenchClient, token: string, runId: string, n: number): Promise<void> {
  const r = await mpi.post('/fhir', JSON.stringify(subjectsTransaction(BENCH_SENDER, runId, n)), token, { prefer: 'return=minimal' });
  if (r.status !== 200) throw new Error(`registering the subjects answered ${r.status}: ${r.body.slice(0, 800)}`);
}

/** Waits until the delivery queue has completed `expected` jobs in all. */
async function drain(queue: Queue, expected: number, phase: string): Promise<void> {
  const deadline = Date.now() + DRAIN_TIMEOUT_MS;
  let reported = Date.now();
  for (;;) {
    const counts = await queue.getJobCounts('completed', 'failed', 'waiting', 'active', 'delayed');
    if ((counts.completed ?? 0) + (counts.failed ?? 0) >= expected) return;
    if (Date.now() > deadline) throw new Error(`${phase}: deliveries not done after ${DRAIN_TIMEOUT_MS / 1000} s: ${JSON.stringify(counts)} (expected ${expected} completed)`);
    if (Date.now() - reported > PROGRESS_EVERY_MS) {
      reported = Date.now();
      progress(`  ${phase}: ${JSON.stringify(counts)} of ${expected}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function completedJobs(queue: Queue): Promise<number> {
  const counts = await queue.getJobCounts('completed', 'failed');
  return (counts.completed ?? 0) + (counts.failed ?? 0);
}

/** Every recipient of every alert acknowledged (else the run is void); per alert, when the last acknowledgement was recorded. */
async function expectAcknowledged(redis: Redis, keys: AlertsKeys, raised: readonly RaiseResult[], recipients: readonly string[]): Promise<{ lastAckMs: number }[]> {
  const pipeline = redis.pipeline();
  for (const r of raised) for (const agency of recipients) pipeline.hmget(keys.delivery(r.messageId, agency), 'state', 'acknowledgedAt');
  const replies = (await pipeline.exec()) ?? [];
  let at = 0;
  return raised.map((r) => {
    let last = 0;
    for (const agency of recipients) {
      const [err, value] = replies[at++] ?? [];
      const [state, acknowledgedAt] = (value ?? []) as (string | null)[];
      if (err || state !== 'acknowledged') throw new Error(`delivery of ${r.messageId} to ${agency} is ${state ?? 'missing'}, not acknowledged`);
      last = Math.max(last, Date.parse(acknowledgedAt ?? ''));
    }
    return { lastAckMs: last };
  });
}

interface OfferedAlert {
  readonly raised: RaiseResult;
  readonly scheduledWallMs: number;
  readonly acceptMs: number;
}

/** Sends `count` alerts at `rate` per second, each at its scheduled time (open loop), timed from that time. */
async function offerAtRate(raise: () => Promise<RaiseResult>, rate: number, count: number): Promise<OfferedAlert[]> {
  const intervalMs = 1000 / rate;
  const startPerf = performance.now();
  const startWall = Date.now();
  const inFlight: Promise<OfferedAlert>[] = [];
  for (let i = 0; i < count; i++) {
    const due = startPerf + i * intervalMs;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    const offered = raise().then((raised) => ({ raised, scheduledWallMs: startWall + i * intervalMs, acceptMs: performance.now() - due }));
    // Handled at once: a raise that fails while later ones are still being offered would otherwise be an unhandled
    // rejection, ending the process before main's cleanup stops the hub, its delivery processes and agency-sim.
    offered.catch(() => undefined);
    inFlight.push(offered);
  }
  return Promise.all(inFlight);
}

/**
 * Where each delivery of the latency phase spent its time (ms): from the alert's scheduled time to its job being
 * queued (`queued`: the sender's wait for "accepted" and the addBulk after it), queued → taken by a delivery worker
 * (`waiting`), taken → acknowledgement recorded (`attempt`: claim, re-checks, batch, the agency's answer, the step),
 * recorded → the job finished (`finishing`). Read from the BullMQ job (timestamp, processedOn, finishedOn) and the
 * delivery record (acknowledgedAt); an attempt that was retried counts from its last run.
 */
async function deliveryStages(redis: Redis, queue: Queue, keys: AlertsKeys, offered: readonly OfferedAlert[], recipients: readonly string[]) {
  const pipeline = redis.pipeline();
  for (const o of offered) {
    for (const agency of recipients) {
      pipeline.hmget(queue.toKey(jobIdOf(o.raised.messageId, agency)), 'timestamp', 'processedOn', 'finishedOn');
      pipeline.hget(keys.delivery(o.raised.messageId, agency), 'acknowledgedAt');
    }
  }
  const replies = (await pipeline.exec()) ?? [];
  const queued: number[] = [];
  const waiting: number[] = [];
  const attempt: number[] = [];
  const finishing: number[] = [];
  let at = 0;
  for (const o of offered) {
    for (let r = 0; r < recipients.length; r++) {
      const [timestamp, processedOn, finishedOn] = ((replies[at++]?.[1] ?? []) as (string | null)[]).map(Number);
      const ackedAt = Date.parse((replies[at++]?.[1] as string | null) ?? '');
      if (![timestamp, processedOn, finishedOn, ackedAt].every(Number.isFinite)) continue;
      queued.push(timestamp! - o.scheduledWallMs);
      waiting.push(processedOn! - timestamp!);
      attempt.push(ackedAt - processedOn!);
      finishing.push(finishedOn! - ackedAt);
    }
  }
  return { queued: pick(summarise(queued)), waiting: pick(summarise(waiting)), attempt: pick(summarise(attempt)), finishing: pick(summarise(finishing)) };
}

/** Per Redis command: calls and microseconds so far (`INFO commandstats`; commands run by scripts are counted too). */
async function redisCommandStats(redis: Redis): Promise<Map<string, { calls: number; usec: number }>> {
  const stats = new Map<string, { calls: number; usec: number }>();
  for (const m of (await redis.info('commandstats')).matchAll(/^cmdstat_([^:]+):calls=(\d+),usec=(\d+)/gm)) stats.set(m[1]!, { calls: Number(m[2]), usec: Number(m[3]) });
  return stats;
}

/** Where redis-server's time per delivery went between two `redisCommandStats`: the costliest commands first. */
function redisCommandsPerDelivery(before: Map<string, { calls: number; usec: number }>, after: Map<string, { calls: number; usec: number }>, deliveries: number) {
  return [...after]
    .map(([command, { calls, usec }]) => ({ command, callsPerDelivery: round((calls - (before.get(command)?.calls ?? 0)) / deliveries, 2), usPerDelivery: round((usec - (before.get(command)?.usec ?? 0)) / deliveries, 1) }))
    .filter((c) => c.usPerDelivery >= 1)
    .sort((a, b) => b.usPerDelivery - a.usPerDelivery);
}

function cpuSecondsSince(start: NodeJS.CpuUsage): number {
  const used = process.cpuUsage(start);
  return (used.user + used.system) / 1e6;
}

/** Appends a run to the results file (a JSON list; a file holding one run becomes a list of it). */
function pick(s: LatencySummary) {
  return { p50Ms: s.p50Ms, p95Ms: s.p95Ms, p99Ms: s.p99Ms, maxMs: s.maxMs };
}

function round(x: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`[bench:alerts] failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
