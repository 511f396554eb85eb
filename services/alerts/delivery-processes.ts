/**
 * Delivery worker processes (`INFOSHARE_ALERTS_DELIVERY_PROCESSES`): the alerts
 * service can run its delivery worker in processes of its own instead of its
 * HTTP process, so accepting an alert never waits behind delivery work on one
 * event loop, and deliveries use the other cores.
 *
 * The service forks them (`startDeliveryProcesses`) with its own settings
 * (hub and alerts configuration, the Redis it uses) and stops them when it
 * closes; one that dies is started again after a second. A worker process
 * stops when its parent goes away, even by SIGKILL (its IPC channel closes):
 * its running attempts end, and anything it left half-done is run again by
 * BullMQ after the lock lapses, as after any crash (README "After a crash").
 *
 * They run at a lower CPU priority than the service (`INFOSHARE_ALERTS_DELIVERY_NICE`):
 * on a busy machine the scheduler gives a core to the accepting process first,
 * so a sender's wait for "accepted" does not queue behind delivery work (which
 * can wait a moment; it is already safely stored).
 *
 * They run with a young generation of `DELIVERY_SEMI_SPACE_MB` semi-spaces (V8's default is 16 MB) unless the
 * service's own flags name a size: an attempt's garbage (its message cut for the recipient, its audit records, its
 * Redis replies) dies young, and with 512 attempts in flight a 16 MB space filled every few dozen deliveries, each
 * scavenge copying the in-flight attempts' live objects again (README "Delivery").
 */
import { fork, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import type { Redis } from 'ioredis';
import type { HubConfig } from '../../shared/config.js';
import type { Logger } from '../../shared/log.js';
import type { AlertsConfig } from './config.js';

/** The environment variable a worker process reads its settings from (JSON). */
export const DELIVERY_PROCESS_SETTINGS = 'INFOSHARE_ALERTS_DELIVERY_PROCESS_SETTINGS';

export interface DeliveryProcessSettings {
  readonly hub: HubConfig;
  readonly alerts: AlertsConfig;
}

/** The delivery processes' young-generation semi-space size (MB), unless the service runs with its own. */
export const DELIVERY_SEMI_SPACE_MB = 64;

/** How long after a worker process died unexpectedly it is started again. */
const RESTART_DELAY_MS = 1_000;
/**
 * How long a worker process has to finish its attempts when told to stop, before it is killed — or, when its
 * service went away, before it exits anyway (delivery-process.ts).
 */
export const STOP_GRACE_MS = 15_000;

export interface DeliveryProcesses {
  /** Process ids of the running worker processes. */
  pids(): number[];
  stop(): Promise<void>;
}

/** The Redis a connection talks to, as a URL a worker process can connect to. */
export function redisUrlOf(config: HubConfig, redis: Redis): string {
  if (config.redisUrl) return config.redisUrl;
  const { host, port, db, path } = redis.options;
  if (path) return `redis+unix://${path}`;
  return `redis://${host ?? '127.0.0.1'}:${port ?? 6379}/${db ?? 0}`;
}

/** The parent's Node flags, with the delivery processes' semi-space size unless the flags or NODE_OPTIONS set one. */
export function deliveryExecArgv(parentArgv: readonly string[], nodeOptions = ''): string[] {
  const named = [...parentArgv, ...nodeOptions.split(/\s+/)].some((a) => /^--max[-_]semi[-_]space[-_]size\b/.test(a));
  return named ? [...parentArgv] : [...parentArgv, `--max-semi-space-size=${DELIVERY_SEMI_SPACE_MB}`];
}

/** Forks `count` delivery worker processes running with these settings. */
export function startDeliveryProcesses(count: number, settings: DeliveryProcessSettings, log: Logger): DeliveryProcesses {
  // Compiled: the .js beside this file; run from source (tsx, ts-jest): the .ts, with the parent's loader flags.
  const self = fileURLToPath(import.meta.url);
  const entry = self.replace(/delivery-processes\.(ts|js)$/, 'delivery-process.$1');
  const fromSource = entry.endsWith('.ts');
  const execArgv = deliveryExecArgv(fromSource && !process.execArgv.some((a) => a.includes('tsx')) ? [...process.execArgv, '--import', 'tsx'] : process.execArgv, process.env.NODE_OPTIONS);
  const env = { ...process.env, [DELIVERY_PROCESS_SETTINGS]: JSON.stringify(settings) };
  const children = new Map<number, ChildProcess>();
  let stopping = false;

  const start = (slot: number) => {
    const child = fork(entry, [], { env, execArgv, stdio: 'inherit' });
    children.set(slot, child);
    child.once('exit', (code, signal) => {
      if (stopping) return;
      log.error({ slot, code, signal }, 'a delivery worker process exited; starting it again');
      setTimeout(() => {
        if (!stopping) start(slot);
      }, RESTART_DELAY_MS).unref();
    });
  };
  for (let slot = 0; slot < count; slot++) start(slot);

  return {
    pids: () => [...children.values()].flatMap((c) => (c.pid !== undefined && c.exitCode === null && c.signalCode === null ? [c.pid] : [])),
    async stop() {
      stopping = true;
      await Promise.all(
        [...children.values()].map(async (child) => {
          if (child.exitCode !== null || child.signalCode !== null) return;
          const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
          child.kill('SIGTERM');
          const killer = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS);
          await exited;
          clearTimeout(killer);
        }),
      );
    },
  };
}

/**
 * Lowers this process's CPU priority by `increment` (nice, capped at 19) — every thread it has: on Linux a
 * priority belongs to a thread, and V8's and libuv's threads, started before any script runs, would keep the
 * old one (threads started later take their creator's). Called by a worker process as it starts.
 */
export function lowerOwnPriority(increment: number, log: Logger): void {
  if (increment === 0) return;
  const nice = Math.min(19, os.getPriority() + increment);
  let threads: number[];
  try {
    threads = fs.readdirSync('/proc/self/task').map(Number);
  } catch {
    threads = [process.pid];
  }
  for (const tid of threads) {
    try {
      os.setPriority(tid, nice);
    } catch (err) {
      // Not fatal: the worker delivers all the same, only without giving way to the accepting process.
      log.warn({ err, tid, nice }, 'could not lower the CPU priority of a delivery worker thread');
    }
  }
}
