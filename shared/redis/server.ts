/**
 * The hub's Redis for `npm start` and the CLI.
 *
 * With `REDIS_URL` set we only check that it answers. Otherwise we run a private
 * `redis-server` from PATH with the data under `<dataDir>/redis` (AOF on, the
 * configured `appendfsync`, `noeviction`: DESIGN.md §3).
 *
 * Port: a free port on 127.0.0.1, not 6379 — installing Redis on Debian/Ubuntu
 * also starts a system Redis on 6379, and the hub must never write into it.
 * So that `infoshare token` / `infoshare replay` in another terminal can find the
 * running hub's Redis, the URL is written to `<dataDir>/redis/url` once the server
 * answers, and removed when it stops. A second `ensureRedis` on the same data
 * directory reuses the server named there (two servers appending to one AOF
 * directory would corrupt it); a stale file (server gone) is ignored.
 *
 * It also listens on a Unix socket, `<dataDir>/redis/redis.sock` (owner only), when that
 * path is short enough for one: bulk readers on this host may use it (full audit
 * verification does: less CPU in redis-server per entry than TCP loopback).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { Redis } from 'ioredis';
import type { HubConfig } from '../config.js';
import type { Logger } from '../log.js';
import { readHubNote } from './hub-note.js';

export interface RedisHandle {
  readonly url: string;
  /** True when this call started redis-server, so `stop()` shuts it down; false for REDIS_URL or a reused server. */
  readonly started: boolean;
  /** The process id of the redis-server this call started; undefined when it started none. */
  readonly pid?: number;
  /** Shuts down a server this call started (SIGTERM: Redis flushes its AOF, then exits); a no-op otherwise. */
  stop(): Promise<void>;
}

export interface EnsureRedisOptions {
  /** Environment used to find and run `redis-server` (its PATH). Defaults to `process.env`. */
  readonly env?: NodeJS.ProcessEnv;
  /** How long a new redis-server may take to answer PING; replaying a large AOF takes a while. */
  readonly startTimeoutMs?: number;
}

export const REDIS_INSTALL_HELP = [
  'Install Redis, or point the hub at one you already run:',
  '  Debian/Ubuntu:  sudo apt-get install -y redis-server',
  '  macOS:          brew install redis',
  '  Docker:         docker compose up   (runs the hub with the compose file\'s redis)',
  '  Existing Redis: REDIS_URL=redis://host:6379 npm start',
].join('\n');

export class RedisMissingError extends Error {
  constructor() {
    super(`redis-server was not found on PATH, and REDIS_URL is not set.\n${REDIS_INSTALL_HELP}`);
    this.name = 'RedisMissingError';
  }
}

/** A Redis that should be there does not answer, or a private one would not start. */
export class RedisUnavailableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RedisUnavailableError';
  }
}

const EXTERNAL_CHECK_TIMEOUT_MS = 3000;
const STOP_GRACE_MS = 10_000;
const PORT_ATTEMPTS = 3;

export function redisDataDir(config: HubConfig): string {
  return path.join(config.dataDir, 'redis');
}

/** Where a running private server's URL is kept for other processes (see the file comment). */
export function redisUrlFile(config: HubConfig): string {
  return path.join(redisDataDir(config), 'url');
}

/**
 * The Redis a CLI command should talk to: `REDIS_URL`, else the running hub's
 * private server named in `<dataDir>/redis/url` if it answers, else the Redis
 * a running hub noted in `<dataDir>/hub.json` (a hub given `REDIS_URL` in its
 * own terminal, `hub-note.ts`); undefined when none (the hub is not running).
 */
export async function findRunningRedis(config: HubConfig): Promise<string | undefined> {
  if (config.redisUrl) return config.redisUrl;
  return (await readLiveUrlFile(config)) ?? readHubNote(config)?.redisUrl;
}

export async function ensureRedis(config: HubConfig, log: Logger, options: EnsureRedisOptions = {}): Promise<RedisHandle> {
  if (config.redisUrl) return useExternal(config.redisUrl, log);

  const running = await readLiveUrlFile(config);
  if (running) {
    log.info({ redis: running }, 'reusing the hub Redis already running on this data directory');
    return { url: running, started: false, stop: async () => {} };
  }

  const env = options.env ?? process.env;
  const probe = spawnSync('redis-server', ['--version'], { env, encoding: 'utf8' });
  if (probe.error) {
    if ((probe.error as NodeJS.ErrnoException).code === 'ENOENT') throw new RedisMissingError();
    throw new RedisUnavailableError(`Could not run redis-server: ${probe.error.message}`);
  }

  const dir = redisDataDir(config);
  fs.mkdirSync(dir, { recursive: true });
  const server = await startPrivate(config, dir, env, options.startTimeoutMs ?? 30_000);
  writeUrlFile(config, server.url);
  log.info({ redis: server.url, dir, appendfsync: config.redisAppendFsync, version: probe.stdout.trim() }, 'started redis-server');

  // Last resort if the process exits without calling stop(): the server lives in its
  // own process group (below), so nothing else would end it.
  const killOnExit = (): void => {
    server.child.kill('SIGTERM');
  };
  process.once('exit', killOnExit);

  let stopping: Promise<void> | undefined;
  return {
    url: server.url,
    started: true,
    ...(server.child.pid === undefined ? {} : { pid: server.child.pid }),
    stop: () => {
      stopping ??= (async () => {
        process.off('exit', killOnExit);
        removeUrlFile(config, server.url);
        await terminate(server.child);
        log.info({ redis: server.url }, 'stopped redis-server');
      })();
      return stopping;
    },
  };
}

async function useExternal(url: string, log: Logger): Promise<RedisHandle> {
  const shown = redactUrl(url);
  try {
    const policy = await withClient(url, EXTERNAL_CHECK_TIMEOUT_MS, async (redis) => {
      await redis.ping();
      // Best effort: managed Redis services often disable CONFIG.
      return redis.config('GET', 'maxmemory-policy').then(
        (r) => r[1],
        () => undefined,
      );
    });
    if (policy !== undefined && policy !== 'noeviction') {
      log.warn({ redis: shown, policy }, 'Redis maxmemory-policy is not noeviction: queued jobs and audit records can be evicted');
    }
  } catch (err) {
    throw new RedisUnavailableError(`REDIS_URL ${shown} did not answer PING: ${messageOf(err)}`);
  }
  log.info({ redis: shown }, 'using Redis from REDIS_URL');
  return { url, started: false, stop: async () => {} };
}

/** A Unix socket path is at most 107 bytes on Linux (sun_path); redis-server refuses to start with a longer one. */
const MAX_UNIX_SOCKET_PATH = 100;

/** `--unixsocket` for the data directory's socket (absolute: redis-server changes into `--dir` first), if its path fits. */
function unixSocketArgs(dir: string): string[] {
  const socket = path.resolve(dir, 'redis.sock');
  return Buffer.byteLength(socket) <= MAX_UNIX_SOCKET_PATH ? ['--unixsocket', socket, '--unixsocketperm', '700'] : [];
}

interface StartedServer {
  readonly url: string;
  readonly child: ChildProcess;
}

async function startPrivate(config: HubConfig, dir: string, env: NodeJS.ProcessEnv, timeoutMs: number): Promise<StartedServer> {
  const logFile = path.join(dir, 'redis.log');
  for (let attempt = 1; ; attempt++) {
    // Another process may take the free port before redis-server binds it; then try another.
    const port = await freePort();
    const logOffset = fileSize(logFile);
    const child = spawn(
      'redis-server',
      [
        '--port', String(port),
        '--bind', '127.0.0.1',
        '--dir', dir,
        '--logfile', logFile,
        '--appendonly', 'yes',
        '--appendfsync', config.redisAppendFsync,
        '--maxmemory-policy', 'noeviction',
        ...unixSocketArgs(dir),
        // AOF is the persistence; RDB snapshots would only add fork pauses.
        '--save', '',
        '--daemonize', 'no',
      ],
      // Own process group: Ctrl-C reaches the hub, which stops services first and Redis last.
      { env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    // Errors in the arguments are printed before the log file is opened.
    let output = '';
    const collect = (chunk: Buffer): void => {
      output = (output + chunk.toString('utf8')).slice(-4000);
    };
    child.stdout?.on('data', collect);
    child.stderr?.on('data', collect);

    const url = `redis://127.0.0.1:${port}`;
    const result = await waitUntilAnswering(url, child, timeoutMs);
    if (result === 'ready') return { url, child };

    const tail = [output.trim(), readFrom(logFile, logOffset).trim()].filter(Boolean).join('\n');
    if (result === 'exited' && /address already in use/i.test(tail) && attempt < PORT_ATTEMPTS) continue;
    await terminate(child);
    const what =
      result === 'exited'
        ? `exited (code ${child.exitCode ?? child.signalCode}) before answering`
        : `did not answer PING within ${timeoutMs} ms`;
    throw new RedisUnavailableError(
      `redis-server on port ${port} (data in ${dir}) ${what}. Its log (${logFile}) ends:\n${lastLines(tail, 20)}`,
    );
  }
}

/**
 * Polls a redis-server `child` just started until it answers PING (a server replaying its AOF answers LOADING: not
 * yet), it exits, or `timeoutMs` passes. Also the readiness check of the servers tests start themselves.
 */
export async function waitUntilAnswering(url: string, child: ChildProcess, timeoutMs: number): Promise<'ready' | 'exited' | 'timeout'> {
  let exited = child.exitCode !== null || child.signalCode !== null;
  child.once('exit', () => {
    exited = true;
  });
  const deadline = Date.now() + timeoutMs;
  while (!exited && Date.now() < deadline) {
    // A server replaying its AOF answers LOADING until done, which counts as not yet.
    const pong = await withClient(url, 500, (r) => r.ping()).catch(() => undefined);
    if (pong === 'PONG') return 'ready';
    if (!exited) await new Promise((r) => setTimeout(r, 25));
  }
  return exited ? 'exited' : 'timeout';
}

async function terminate(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  const force = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS);
  await exited;
  clearTimeout(force);
}

/** Opens a short-lived connection that fails fast instead of retrying, runs `fn`, closes it. */
async function withClient<T>(url: string, timeoutMs: number, fn: (redis: Redis) => Promise<T>): Promise<T> {
  const redis = new Redis(url, {
    lazyConnect: true,
    connectTimeout: timeoutMs,
    commandTimeout: timeoutMs,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  // The rejected promise below carries the error; without a listener ioredis also prints it.
  redis.on('error', () => {});
  try {
    await redis.connect();
    return await fn(redis);
  } finally {
    // After a failed connect the socket is already closed; disconnecting again would leave a 2 s timer behind.
    if (redis.status !== 'end') redis.disconnect();
  }
}

/** The URL in the url file, if a server there answers and keeps its data in this directory. */
async function readLiveUrlFile(config: HubConfig): Promise<string | undefined> {
  let url: string;
  try {
    url = fs.readFileSync(redisUrlFile(config), 'utf8').trim();
  } catch {
    return undefined;
  }
  if (!url) return undefined;
  const dir = await withClient(url, 1000, async (r) => (await r.config('GET', 'dir'))[1]).catch(() => undefined);
  if (dir === undefined) return undefined;
  return samePath(dir, redisDataDir(config)) ? url : undefined;
}

function writeUrlFile(config: HubConfig, url: string): void {
  const file = redisUrlFile(config);
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, `${url}\n`);
  fs.renameSync(tmp, file);
}

function removeUrlFile(config: HubConfig, url: string): void {
  const file = redisUrlFile(config);
  try {
    if (fs.readFileSync(file, 'utf8').trim() === url) fs.rmSync(file);
  } catch {
    // Already gone.
  }
}

function samePath(a: string, b: string): boolean {
  try {
    return fs.realpathSync(a) === fs.realpathSync(b);
  } catch {
    return path.resolve(a) === path.resolve(b);
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

function fileSize(file: string): number {
  try {
    return fs.statSync(file).size;
  } catch {
    return 0;
  }
}

function readFrom(file: string, offset: number): string {
  try {
    return fs.readFileSync(file).subarray(offset).toString('utf8');
  } catch {
    return '';
  }
}

function lastLines(text: string, n: number): string {
  const lines = text.split('\n');
  return (lines.length > n ? lines.slice(-n) : lines).map((l) => `  ${l}`).join('\n');
}

/** Never log a password from REDIS_URL. */
function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return url;
  }
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
