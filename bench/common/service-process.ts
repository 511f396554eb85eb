/**
 * A hub service run by a benchmark in a process of its own (`dist/services/<name>/main.js`), so
 * its CPU is not the measured process's and its work does not hold up the measured event loop —
 * as docker-compose runs each service in its own container.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { pathToFileURL } from 'node:url';
import { PROJECT_ROOT } from '../../shared/config.js';
import type { PauseProbeRequest } from './pause-probe.js';
import type { ProfileKind } from './profile.js';
import type { PauseSummary } from './pauses.js';
import { processCpuSeconds } from './process-cpu.js';

export interface ServiceProcess {
  /** The process id (to tell its `--trace-gc` lines, prefixed `[pid:…]`, from the others'). */
  readonly pid: number | undefined;
  /** CPU seconds the process has used so far; undefined where /proc is missing. */
  cpuSeconds(): number | undefined;
  /** The process's own pauses and allocation (started with `pauseProbe`): measured between `resume` and `pause`. */
  readonly pauses?: RemotePauses;
  stop(): Promise<void>;
}

/** `PauseMeter` of a service process (pause-probe.ts), driven from the benchmark. */
export interface RemotePauses {
  resume(): Promise<void>;
  pause(): Promise<void>;
  /** The summary over every measured stretch. */
  finish(): Promise<PauseSummary>;
  /** A profile of the process (bench/common/profile.ts) from `profileStart` to `profileStop`, written as `<dir>/<name>.<kind>profile`. */
  profileStart(kind: ProfileKind, dir: string): Promise<void>;
  profileStop(name: string): Promise<void>;
}

export interface ServiceProcessOptions {
  /** Node flags before the entry point (e.g. `--max-semi-space-size=64`, as docker-compose's `NODE_OPTIONS` gives plans). */
  readonly nodeArgs?: readonly string[];
  /** Load pause-probe.js into the process, for `ServiceProcess.pauses`. */
  readonly pauseProbe?: boolean;
}

/** Starts `dist/services/<name>/main.js` with `env` and waits until `<url>/health` answers. */
export async function startServiceProcess(name: string, url: string, env: NodeJS.ProcessEnv, options: ServiceProcessOptions = {}): Promise<ServiceProcess> {
  const probe = options.pauseProbe ? ['--import', pathToFileURL(path.join(PROJECT_ROOT, 'dist', 'bench', 'common', 'pause-probe.js')).href] : [];
  const child = spawn(process.execPath, [...(options.nodeArgs ?? []), ...probe, path.join(PROJECT_ROOT, 'dist', 'services', name, 'main.js')], {
    cwd: PROJECT_ROOT,
    env,
    stdio: options.pauseProbe ? ['ignore', 'inherit', 'inherit', 'ipc'] : ['ignore', 'inherit', 'inherit'],
  });
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGTERM');
    await exited;
  };
  try {
    await untilHealthy(name, url, child);
  } catch (err) {
    await stop();
    throw err;
  }
  return { pid: child.pid, cpuSeconds: () => processCpuSeconds(child.pid), ...(options.pauseProbe ? { pauses: remotePauses(child) } : {}), stop };
}

/** A request without its id (each member of the union on its own). */
type Question<R = PauseProbeRequest> = R extends PauseProbeRequest ? Omit<R, 'id'> : never;

function remotePauses(child: ChildProcess): RemotePauses {
  let next = 0;
  const ask = (question: Question) =>
    new Promise<PauseSummary | undefined>((resolve, reject) => {
      const id = ++next;
      const onMessage = (message: { id?: number; summary?: PauseSummary; error?: string }) => {
        if (message.id !== id) return;
        child.off('message', onMessage);
        if (message.error !== undefined) reject(new Error(`the pause probe: ${message.error}`));
        else resolve(message.summary);
      };
      child.on('message', onMessage);
      const request = { id, ...question } as PauseProbeRequest;
      child.send(request, (err) => {
        if (err) {
          child.off('message', onMessage);
          reject(err);
        }
      });
    });
  return {
    resume: async () => void (await ask({ op: 'resume' })),
    pause: async () => void (await ask({ op: 'pause' })),
    profileStart: async (kind, dir) => void (await ask({ op: 'profile-start', kind, dir })),
    profileStop: async (name) => void (await ask({ op: 'profile-stop', name })),
    finish: async () => {
      const summary = await ask({ op: 'finish' });
      if (!summary) throw new Error('the pause probe sent no summary');
      return summary;
    },
  };
}

/** Polls `<url>/health` until it answers 200 (60 s at most), failing at once if the process exits. */
export async function untilHealthy(name: string, url: string, child: ChildProcess): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`${name} exited before it was ready (${child.exitCode ?? child.signalCode})`);
    try {
      if ((await fetch(`${url}/health`)).ok) return;
    } catch {
      /* not listening yet */
    }
    await sleep(100);
  }
  throw new Error(`${name} did not start within 60 s`);
}
