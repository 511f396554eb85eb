/**
 * A hub service run by a benchmark in a process of its own (`dist/services/<name>/main.js`), so
 * its CPU is not the measured process's and its work does not hold up the measured event loop —
 * as docker-compose runs each service in its own container.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { PROJECT_ROOT } from '../../shared/config.js';
import { processCpuSeconds } from './process-cpu.js';

export interface ServiceProcess {
  /** CPU seconds the process has used so far; undefined where /proc is missing. */
  cpuSeconds(): number | undefined;
  stop(): Promise<void>;
}

/** Starts `dist/services/<name>/main.js` with `env` and waits until `<url>/health` answers. */
export async function startServiceProcess(name: string, url: string, env: NodeJS.ProcessEnv): Promise<ServiceProcess> {
  const child = spawn(process.execPath, [path.join(PROJECT_ROOT, 'dist', 'services', name, 'main.js')], { cwd: PROJECT_ROOT, env, stdio: ['ignore', 'inherit', 'inherit'] });
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
  return { cpuSeconds: () => processCpuSeconds(child.pid), stop };
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
