/**
 * A redis-server of a test's own, for tests that kill Redis itself: SIGKILL
 * (nothing flushed but what `appendfsync` already put on disk), then started
 * again on the same port and directory, so it replays its AOF and the hub's
 * connections find it where they left it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { reserveFreePorts } from '../shared/runtime/listen.js';
import { waitUntilAnswering } from '../shared/redis/server.js';
import { stopWithThisProcess } from './stop-with-parent.js';

export interface RedisProcess {
  readonly url: string;
  /** The running redis-server's process id (a new one after `restart`). */
  readonly pid: number | undefined;
  /** Kills the server with SIGKILL and waits until it is gone. */
  kill(): Promise<void>;
  /** Starts it again on the same port and data (AOF replay); resolves once it answers PING. */
  restart(): Promise<void>;
  /** Freezes the server (SIGSTOP): connections stay open, nothing is answered — a Redis that hangs. */
  pause(): void;
  /** Lets a frozen server run again (SIGCONT). */
  resume(): void;
  /** Stops it and deletes its data. */
  stop(): Promise<void>;
}

/** How many free ports a first start tries (another process may take a reserved port before redis-server binds it). */
const PORT_RACE_STARTS = 3;

export async function startRedisProcess(appendfsync: 'always' | 'everysec' = 'always'): Promise<RedisProcess> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'infoshare-test-redis-kill-'));
  let port = 0;
  let url = '';
  let child: ChildProcess | undefined;

  const start = async (): Promise<void> => {
    const running = spawn(
      'redis-server',
      ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--appendonly', 'yes', '--appendfsync', appendfsync,
        '--maxmemory-policy', 'noeviction', '--save', '', '--daemonize', 'no', '--logfile', path.join(dir, 'redis.log')],
      { stdio: 'ignore' },
    );
    child = running;
    // Stopped should this test process die without its clean-up (a force-exited Jest worker): test/stop-with-parent.ts.
    stopWithThisProcess(running.pid);
    await answering(url, 15_000, running);
  };
  for (let attempt = 1; ; attempt++) {
    [port] = (await reserveFreePorts(1)) as [number];
    url = `redis://127.0.0.1:${port}`;
    try {
      await start();
      break;
    } catch (err) {
      // Exited before answering: its port was taken meanwhile (redis-server cannot bind it) — another free port.
      if (!(err instanceof ExitedBeforeAnswering) || attempt >= PORT_RACE_STARTS) throw err;
    }
  }
  const killWith = async (signal: NodeJS.Signals): Promise<void> => {
    const running = child;
    if (!running || running.exitCode !== null || running.signalCode !== null) return;
    const gone = new Promise((resolve) => running.once('exit', resolve));
    running.kill(signal);
    await gone;
  };
  return {
    url,
    get pid() {
      return child?.pid;
    },
    kill: () => killWith('SIGKILL'),
    restart: start,
    pause: () => child?.kill('SIGSTOP'),
    resume: () => child?.kill('SIGCONT'),
    async stop() {
      await killWith('SIGTERM');
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

class ExitedBeforeAnswering extends Error {}

async function answering(url: string, timeoutMs: number, child: ChildProcess): Promise<void> {
  const outcome = await waitUntilAnswering(url, child, timeoutMs);
  if (outcome === 'exited') throw new ExitedBeforeAnswering(`redis-server for ${url} exited before answering (${child.exitCode ?? child.signalCode})`);
  if (outcome === 'timeout') throw new Error(`redis-server at ${url} did not answer within ${timeoutMs} ms`);
}
