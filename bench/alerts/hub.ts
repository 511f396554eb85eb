/**
 * Starts the hub under test (`hub-process.ts`, compiled) as a child process on
 * the benchmark's Redis and waits until it listens.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { PROJECT_ROOT } from '../../shared/config.js';
import { processCpuSeconds } from '../common/process-cpu.js';

export interface BenchHub {
  readonly urls: Readonly<Record<string, string>>;
  /** CPU seconds (user + system, every thread) the hub process has used so far; undefined where /proc is missing. */
  cpuSeconds(): number | undefined;
  stop(): Promise<void>;
}

export interface BenchHubOptions {
  readonly redisUrl: string;
  readonly keyPrefix: string;
  readonly dataDir: string;
  /** Write a V8 CPU profile of the hub process to this directory when it stops. */
  readonly cpuProfileDir?: string;
  /** More environment for the hub (settings). */
  readonly env?: Readonly<Record<string, string>>;
}

export async function startBenchHub(options: BenchHubOptions): Promise<BenchHub> {
  const nodeArgs = options.cpuProfileDir ? ['--cpu-prof', `--cpu-prof-dir=${options.cpuProfileDir}`] : [];
  const child = spawn(process.execPath, [...nodeArgs, path.join(PROJECT_ROOT, 'dist', 'bench', 'alerts', 'hub-process.js')], {
    cwd: PROJECT_ROOT,
    env: {
      ...process.env,
      REDIS_URL: options.redisUrl,
      INFOSHARE_KEY_PREFIX: options.keyPrefix,
      INFOSHARE_DATA_DIR: options.dataDir,
      INFOSHARE_LOG_LEVEL: process.env.INFOSHARE_LOG_LEVEL ?? 'warn',
      // One token per agency lasts the whole run.
      INFOSHARE_TOKEN_TTL_SECONDS: '3600',
      ...options.env,
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const urls = await new Promise<Record<string, string>>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('the hub process did not start within 60 s')), 60_000);
    createInterface({ input: child.stdout }).on('line', (line) => {
      if (!line.startsWith('READY ')) return;
      clearTimeout(timer);
      resolve(JSON.parse(line.slice(6)) as Record<string, string>);
    });
    void exited.then(() => {
      clearTimeout(timer);
      reject(new Error(`the hub process exited before it was ready (${child.exitCode ?? child.signalCode})`));
    });
  });
  return {
    urls,
    cpuSeconds: () => processCpuSeconds(child.pid),
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}
