/**
 * Starts the hub under test as child processes on the benchmark's Redis and
 * waits until they listen: the hub (`hub-process.ts`, compiled: directory, MPI,
 * alerts — with its delivery worker processes when the alerts settings ask for
 * them) and, apart from it, agency-sim (`services/agency-sim/main.ts`), so the
 * CPU the receivers spend is not counted as the hub's and does not compete
 * with the hub's event loop. Ports are reserved here and given to both.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { createInterface, type Interface } from 'node:readline';
import { loadConfig, PROJECT_ROOT, SERVICE_NAMES } from '../../shared/config.js';
import { freePortSettings } from '../../shared/runtime/listen.js';
import { mainThreadCpuSeconds, mainThreadRunQueueWaitSeconds, processCpuSeconds } from '../common/process-cpu.js';
import { untilHealthy } from '../common/service-process.js';

export interface BenchHub {
  readonly urls: Readonly<Record<string, string>>;
  /** CPU seconds (user + system, every thread) used so far by the hub process and its delivery worker processes; undefined where /proc is missing. */
  cpuSeconds(): number | undefined;
  /** CPU seconds of the hub's own process alone (its services: accepting alerts), without its delivery worker processes. */
  mainCpuSeconds(): number | undefined;
  /** CPU seconds of the hub process's main thread (its event loop), without its worker threads. */
  eventLoopCpuSeconds(): number | undefined;
  /** Seconds the hub process's main thread (where alerts are accepted) has waited, runnable, for a CPU. */
  eventLoopRunQueueWaitSeconds(): number | undefined;
  /**
   * The event-loop delay of the hub's own process (where alerts are accepted) since the previous call,
   * in ms (`monitorEventLoopDelay`); the first call only starts the measurement.
   */
  eventLoopDelay(): Promise<EventLoopDelay>;
  /** CPU seconds used so far by the agency-sim process. */
  simCpuSeconds(): number | undefined;
  stop(): Promise<void>;
}

export interface EventLoopDelay {
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
}

export interface BenchHubOptions {
  readonly redisUrl: string;
  readonly keyPrefix: string;
  readonly dataDir: string;
  /** Write V8 CPU profiles of the hub's and agency-sim's processes to this directory when they stop. */
  readonly cpuProfileDir?: string;
  /** More environment for the hub (settings). */
  readonly env?: Readonly<Record<string, string>>;
}

/**
 * The hub process's Node flags, as docker-compose's NODE_OPTIONS gives the alerts service (README, *Accepting*): a
 * young generation of 64 MB semi-spaces, so the accepting event loop and its validation thread stop for a quarter as
 * many scavenges. Its delivery worker processes inherit the size (their own default is the same).
 */
const HUB_NODE_ARGS = ['--max-semi-space-size=64'];

/** The services the hub process runs; agency-sim runs in a process of its own. */
const HUB_SERVICES = ['directory', 'mpi', 'alerts'] as const;

export async function startBenchHub(options: BenchHubOptions): Promise<BenchHub> {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    REDIS_URL: options.redisUrl,
    INFOSHARE_KEY_PREFIX: options.keyPrefix,
    INFOSHARE_DATA_DIR: options.dataDir,
    INFOSHARE_LOG_LEVEL: process.env.INFOSHARE_LOG_LEVEL ?? 'warn',
    // One token per agency lasts the whole run.
    INFOSHARE_TOKEN_TTL_SECONDS: '3600',
    INFOSHARE_BENCH_HUB_SERVICES: HUB_SERVICES.join(','),
    ...(await freePortSettings(SERVICE_NAMES)),
    ...options.env,
  };
  const config = loadConfig(env);
  const nodeArgs = options.cpuProfileDir ? ['--cpu-prof', `--cpu-prof-dir=${options.cpuProfileDir}`] : [];
  const children: ChildProcess[] = [];
  const stop = async () => {
    // agency-sim first: the hub's delivery workers then stop on failed calls, not on a half-closed receiver.
    for (const child of [...children].reverse()) {
      const exited = new Promise<void>((resolve) => (child.exitCode !== null || child.signalCode !== null ? resolve() : child.once('exit', () => resolve())));
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    }
  };
  try {
    const hub = spawn(process.execPath, [...HUB_NODE_ARGS, ...nodeArgs, path.join(PROJECT_ROOT, 'dist', 'bench', 'alerts', 'hub-process.js')], {
      cwd: PROJECT_ROOT,
      env,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    children.push(hub);
    const lines = createInterface({ input: hub.stdout });
    const delays: ((d: EventLoopDelay) => void)[] = [];
    lines.on('line', (line) => {
      if (line.startsWith('EVENT_LOOP ')) delays.shift()?.(JSON.parse(line.slice(11)) as EventLoopDelay);
    });
    const hubUrls = await readyLine(hub, lines);
    const sim = spawn(process.execPath, [...nodeArgs, path.join(PROJECT_ROOT, 'dist', 'services', 'agency-sim', 'main.js')], {
      cwd: PROJECT_ROOT,
      env,
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    children.push(sim);
    const simUrl = config.urls['agency-sim'];
    await untilHealthy('agency-sim', simUrl, sim);
    return {
      urls: { ...hubUrls, 'agency-sim': simUrl },
      cpuSeconds: () => {
        const own = processCpuSeconds(hub.pid);
        const workers = workerPidsOf(hub.pid).map((pid) => processCpuSeconds(pid) ?? 0);
        return own === undefined ? undefined : own + workers.reduce((a, b) => a + b, 0);
      },
      mainCpuSeconds: () => processCpuSeconds(hub.pid),
      eventLoopCpuSeconds: () => mainThreadCpuSeconds(hub.pid),
      eventLoopRunQueueWaitSeconds: () => mainThreadRunQueueWaitSeconds(hub.pid),
      eventLoopDelay: () =>
        new Promise<EventLoopDelay>((resolve) => {
          delays.push(resolve);
          hub.kill('SIGUSR2');
        }),
      simCpuSeconds: () => processCpuSeconds(sim.pid),
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** Waits for the hub process's `READY <json urls>` line. */
function readyLine(child: ChildProcess, lines: Interface): Promise<Record<string, string>> {
  return new Promise<Record<string, string>>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('the hub process did not start within 60 s')), 60_000);
    lines.on('line', (line) => {
      if (!line.startsWith('READY ')) return;
      clearTimeout(timer);
      resolve(JSON.parse(line.slice(6)) as Record<string, string>);
    });
    child.once('exit', () => {
      clearTimeout(timer);
      reject(new Error(`the hub process exited before it was ready (${child.exitCode ?? child.signalCode})`));
    });
  });
}

/** The hub's child processes (its delivery worker processes), from /proc; none where /proc is missing. */
function workerPidsOf(pid: number | undefined): number[] {
  if (pid === undefined) return [];
  try {
    return readChildren(pid);
  } catch {
    return [];
  }
}

function readChildren(pid: number): number[] {
  const pids: number[] = [];
  for (const task of fs.readdirSync(`/proc/${pid}/task`)) {
    const text = fs.readFileSync(`/proc/${pid}/task/${task}/children`, 'utf8').trim();
    if (text) pids.push(...text.split(/\s+/).map(Number));
  }
  return pids;
}
