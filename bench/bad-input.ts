/**
 * `npm run bench:bad-input` — what hostile requests cost the hub: for each kind
 * the hostile corpus found expensive (issue 10, item 9), the answer's status,
 * size and time, the longest the event loop was held while it was in flight,
 * and the slowest `/health` answered meanwhile (polled every 10 ms). Baseline in
 * the same run: the same figures with only `/health` being polled.
 *
 * Runs the hub (directory + MPI) in this process on free ports over a private
 * redis-server in a temp directory (unless REDIS_URL is set). Bodies are built
 * before measuring, so the figures are the hub's work, not the client's.
 * Progress to stderr; ONE JSON line to stdout, also written to
 * bench/results/bad-input.json (`--out FILE`; `--out -` keeps no file).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { pino } from 'pino';
import { issueAccessToken } from '../shared/auth/access-token.js';
import { loadTokenSigningKey } from '../shared/auth/keys.js';
import { deleteKeysWithPrefix, connectRedis } from '../shared/redis/connection.js';
import { startHub, type RunningHub } from '../services/hub.js';
import { keepResult, optionsOrExit, progressPrinter, readFlags } from './common/cli.js';

const AGENCY = 'nhs-lothian';
const PARTNERSHIP = 'lothian-hscp';
const SCOPES = ['system/Patient.write', 'system/Patient.read', 'system/Practitioner.write', 'system/Organization.write'];
const HEALTH_EVERY_MS = 10;
const BASELINE_MS = 2000;

interface HostileCase {
  readonly name: string;
  readonly service: 'directory' | 'mpi';
  readonly path: string;
  readonly body: Buffer;
}

interface CaseFigures {
  readonly name: string;
  readonly requestBytes: number;
  readonly status: number;
  readonly responseBytes: number;
  readonly ms: number;
  /** Longest the event loop was held while the request was in flight. */
  readonly eventLoopMaxMs: number;
  /** Slowest `/health` answered while the request was in flight (each polled every 10 ms). */
  readonly healthMaxMs: number;
  readonly healthAnswered: number;
}

const progress = progressPrinter('bad-input');

const USAGE = `Usage: npm run bench:bad-input -- [--out FILE]
  --out FILE   where the result is kept (default bench/results/bad-input.json; - for none: the JSON line on stdout only)`;

/** The result file (`-`: none). */
function parse(argv: readonly string[]): { readonly out: string } {
  return { out: readFlags(argv, ['out']).get('out') ?? 'bench/results/bad-input.json' };
}

const json = (value: unknown) => Buffer.from(JSON.stringify(value));
const nested = (depth: number, open: string, close: string, leaf: string) => `${open.repeat(depth)}${leaf}${close.repeat(depth)}`;
const patient = (i: number, extra: object = {}) => ({
  resourceType: 'Patient',
  identifier: [{ system: `https://fhir.infoshare.scot/id/patient/${AGENCY}`, value: `BENCH-${i}` }],
  name: [{ family: `Family${i}`, given: ['Given'] }],
  birthDate: '1970-01-01',
  ...extra,
});
const entry = (resource: object) => ({ resource, request: { method: 'POST', url: 'Patient' } });
const transaction = (entries: object[]) => ({ resourceType: 'Bundle', type: 'transaction', entry: entries });

function hostileCases(): HostileCase[] {
  return [
    { name: 'transaction, a 3 MB string where name[] is expected', service: 'mpi', path: '/fhir', body: json(transaction([entry(patient(1, { name: 'n'.repeat(3_000_000) }))])) },
    { name: 'create, a 900 KB string where name[] is expected', service: 'directory', path: '/fhir/Practitioner', body: json({ resourceType: 'Practitioner', name: 'x'.repeat(900_000) }) },
    { name: '$match, JSON nested 10,000 deep', service: 'mpi', path: '/fhir/Patient/$match', body: Buffer.from(nested(10_000, '[', ']', '1')) },
    {
      name: 'transaction, one Patient of 200,000 names and an impossible birth date (valid in shape: fully checked)',
      service: 'mpi',
      path: '/fhir',
      body: json(transaction([entry(patient(2, { birthDate: '2023-02-30', name: Array.from({ length: 200_000 }, (_, i) => ({ family: `F${i}`, given: ['G'] })) }))])),
    },
    { name: 'transaction, 1,000 entries each with an impossible date', service: 'mpi', path: '/fhir', body: json(transaction(Array.from({ length: 1000 }, (_, i) => entry(patient(i, { birthDate: '2023-02-30' }))))) },
  ];
}

/** Polls `/health` every HEALTH_EVERY_MS until stopped; the slowest answer and how many came back. */
function pollHealth(url: string): { stop(): Promise<{ maxMs: number; answered: number }> } {
  let running = true;
  let maxMs = 0;
  let answered = 0;
  const loop = (async () => {
    while (running) {
      const t = performance.now();
      const res = await fetch(`${url}/health`);
      await res.arrayBuffer();
      maxMs = Math.max(maxMs, performance.now() - t);
      answered++;
      await new Promise((resolve) => setTimeout(resolve, HEALTH_EVERY_MS));
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return { maxMs, answered };
    },
  };
}

/** Runs `work` with the event loop and `/health` watched. */
async function watched<T>(healthUrl: string, work: () => Promise<T>): Promise<{ result: T; ms: number; eventLoopMaxMs: number; healthMaxMs: number; healthAnswered: number }> {
  const delay = monitorEventLoopDelay({ resolution: 5 });
  const health = pollHealth(healthUrl);
  delay.enable();
  const t = performance.now();
  const result = await work();
  const ms = performance.now() - t;
  delay.disable();
  const h = await health.stop();
  return { result, ms, eventLoopMaxMs: delay.max / 1e6, healthMaxMs: h.maxMs, healthAnswered: h.answered };
}

const round = (n: number) => Math.round(n * 10) / 10;

async function main(): Promise<void> {
  const options = optionsOrExit(parse, USAGE);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'infoshare-bench-bad-input-'));
  const keyPrefix = process.env.REDIS_URL ? `bench-${randomBytes(4).toString('hex')}` : 'is';
  let hub: RunningHub | undefined;
  try {
    const env: NodeJS.ProcessEnv = { ...process.env, INFOSHARE_DATA_DIR: tmp, INFOSHARE_LOG_LEVEL: process.env.INFOSHARE_LOG_LEVEL ?? 'error' };
    const log = pino({ name: 'bench-bad-input', level: env.INFOSHARE_LOG_LEVEL }, pino.destination(2));
    progress('starting the hub');
    hub = await startHub({ env, freePorts: true, keyPrefix, log });
    const { config } = hub;
    const token = issueAccessToken({ clientId: AGENCY, agency: AGENCY, partnership: PARTNERSHIP, scopes: SCOPES }, await loadTokenSigningKey(config.token), config.token).token;
    const urls = { directory: hub.urls.directory!, mpi: hub.urls.mpi! };
    const cases = hostileCases();

    progress('baseline: /health alone');
    const baseline = await watched(urls.mpi, () => new Promise((resolve) => setTimeout(resolve, BASELINE_MS)));

    const figures: CaseFigures[] = [];
    for (const c of cases) {
      progress(c.name);
      const w = await watched(urls[c.service], async () => {
        const res = await fetch(`${urls[c.service]}${c.path}`, {
          method: 'POST',
          headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/fhir+json' },
          body: c.body,
        });
        return { status: res.status, bytes: (await res.arrayBuffer()).byteLength };
      });
      figures.push({
        name: c.name,
        requestBytes: c.body.length,
        status: w.result.status,
        responseBytes: w.result.bytes,
        ms: round(w.ms),
        eventLoopMaxMs: round(w.eventLoopMaxMs),
        healthMaxMs: round(w.healthMaxMs),
        healthAnswered: w.healthAnswered,
      });
    }

    const result = {
      benchmark: 'bad-input',
      date: new Date().toISOString(),
      machine: { cpus: os.availableParallelism(), node: process.version },
      baseline: { ms: round(baseline.ms), eventLoopMaxMs: round(baseline.eventLoopMaxMs), healthMaxMs: round(baseline.healthMaxMs), healthAnswered: baseline.healthAnswered },
      cases: figures,
    };
    const line = JSON.stringify(result);
    keepResult(options.out, result, 'replace', progress);
    process.stdout.write(`${line}\n`);
  } finally {
    if (hub) {
      if (process.env.REDIS_URL) {
        const redis = connectRedis(hub.redisUrl);
        await deleteKeysWithPrefix(redis, keyPrefix).finally(() => redis.quit());
      }
      await hub.stop();
    }
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`bench:bad-input failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
