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
import net from 'node:net';
import { reserveFreePorts } from '../shared/runtime/listen.js';
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
  const deadline = Date.now() + timeoutMs;
  const { hostname, port } = new URL(url);
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) throw new ExitedBeforeAnswering(`redis-server for ${url} exited before answering (${child.exitCode ?? child.signalCode})`);
    // A server replaying its AOF answers LOADING until done: that counts as not yet.
    if ((await pingOnce(hostname, Number(port))) === '+PONG') return;
    if (Date.now() > deadline) throw new Error(`redis-server at ${url} did not answer within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/**
 * One PING over a plain socket: the first line of the answer (`+PONG`, `-LOADING …`), or '' (refused, closed, no
 * answer within a second). Not ioredis: its disconnect() arms a ref'd 2 s timer that a refused connection never
 * clears, which kept the test's Jest worker alive past the suite ("a worker process has failed to exit gracefully").
 */
function pingOnce(host: string, port: number): Promise<string> {
  return new Promise((resolve) => {
    const socket = net.connect(port, host);
    let answer = '';
    const done = (line: string) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(line);
    };
    const timer = setTimeout(() => done(''), 1_000);
    socket.on('connect', () => socket.write('PING\r\n'));
    socket.on('data', (chunk: Buffer) => {
      answer += chunk.toString('latin1');
      const end = answer.indexOf('\r\n');
      if (end >= 0) done(answer.slice(0, end));
    });
    socket.on('error', () => done(''));
    socket.on('close', () => done(answer));
  });
}
