import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { Redis } from 'ioredis';
import { loadConfig, type HubConfig } from '../config.js';
import { createLogger } from '../log.js';
import { connectRedis } from './connection.js';
import {
  ensureRedis,
  findRunningRedis,
  redisUrlFile,
  RedisMissingError,
  RedisUnavailableError,
  type RedisHandle,
} from './server.js';
import { testRedisUrl } from '../../test/redis.js';
import { stopWithThisProcess } from '../../test/stop-with-parent.js';

const log = createLogger('redis-server-test', 'silent');
const tempDirs: string[] = [];
const handles: RedisHandle[] = [];
const clients: Redis[] = [];

function tempDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'infoshare-redis-server-'));
  tempDirs.push(dir);
  return dir;
}

/** Config for a hub with no REDIS_URL and its data in `dataDir`. */
function hubConfig(dataDir: string, extra: Record<string, string> = {}): HubConfig {
  return loadConfig({ INFOSHARE_DATA_DIR: dataDir, ...extra });
}

async function start(config: HubConfig): Promise<RedisHandle> {
  const handle = await ensureRedis(config, log);
  stopWithThisProcess(handle.pid); // should this worker die without its clean-up
  handles.push(handle);
  return handle;
}

function client(url: string): Redis {
  const redis = connectRedis(url);
  clients.push(redis);
  return redis;
}

async function configValue(redis: Redis, name: string): Promise<string | undefined> {
  return (await redis.config('GET', name))[1];
}

function unusedPort(): Promise<number> {
  return new Promise((resolve) => {
    const srv = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

afterEach(async () => {
  // Close clients before their servers stop, or ioredis keeps reconnecting.
  await Promise.all(clients.splice(0).filter((c) => c.status !== 'end').map((c) => c.quit()));
  for (const h of handles.splice(0)) await h.stop();
});

afterAll(() => {
  for (const dir of tempDirs) fs.rmSync(dir, { recursive: true, force: true });
});

describe('ensureRedis with a private redis-server', () => {
  it('keeps acknowledged writes across a stop and restart from the same data directory', async () => {
    const config = hubConfig(tempDir());
    const first = await start(config);
    expect(first.started).toBe(true);
    const writer = client(first.url);
    await writer.set('is:{persist}:k', 'kept');
    await writer.quit();
    await first.stop();

    const second = await start(config);
    expect(await client(second.url).get('is:{persist}:k')).toBe('kept');
  });

  it('runs with AOF, appendfsync always, noeviction, bound to localhost, data under <dataDir>/redis', async () => {
    const dataDir = tempDir();
    const handle = await start(hubConfig(dataDir));
    const redis = client(handle.url);
    expect(handle.url).toMatch(/^redis:\/\/127\.0\.0\.1:\d+$/);
    expect(await configValue(redis, 'appendonly')).toBe('yes');
    expect(await configValue(redis, 'appendfsync')).toBe('always');
    expect(await configValue(redis, 'maxmemory-policy')).toBe('noeviction');
    expect(fs.realpathSync((await configValue(redis, 'dir'))!)).toBe(fs.realpathSync(path.join(dataDir, 'redis')));
    expect(fs.existsSync(path.join(dataDir, 'redis', 'redis.log'))).toBe(true);
  });

  it('listens on an owner-only Unix socket in <dataDir>/redis too: the same server as its URL', async () => {
    const dataDir = tempDir();
    const handle = await start(hubConfig(dataDir));
    const socket = path.resolve(dataDir, 'redis', 'redis.sock');
    const byUrl = client(handle.url);
    expect(await configValue(byUrl, 'unixsocket')).toBe(socket);
    expect(fs.statSync(socket).mode & 0o777).toBe(0o700);
    await byUrl.set('is:{socket}:k', 'one server');
    expect(await client(socket).get('is:{socket}:k')).toBe('one server');
  });

  it('starts without a Unix socket when its path would be too long for one', async () => {
    const dataDir = path.join(tempDir(), 'd'.repeat(90));
    const handle = await start(hubConfig(dataDir));
    expect(await configValue(client(handle.url), 'unixsocket')).toBe('');
  });

  it('uses the appendfsync policy set by INFOSHARE_REDIS_APPENDFSYNC', async () => {
    const handle = await start(hubConfig(tempDir(), { INFOSHARE_REDIS_APPENDFSYNC: 'everysec' }));
    expect(await configValue(client(handle.url), 'appendfsync')).toBe('everysec');
  });

  it('publishes its URL for CLI commands while running and withdraws it on stop', async () => {
    const config = hubConfig(tempDir());
    const handle = await start(config);
    expect(fs.readFileSync(redisUrlFile(config), 'utf8').trim()).toBe(handle.url);
    expect(await findRunningRedis(config)).toBe(handle.url);

    await handle.stop();
    expect(fs.existsSync(redisUrlFile(config))).toBe(false);
    expect(await findRunningRedis(config)).toBeUndefined();
  });

  it('reuses the server already running on the same data directory and leaves it running on stop', async () => {
    const config = hubConfig(tempDir());
    const owner = await start(config);
    const reuser = await start(config);
    expect(reuser).toMatchObject({ url: owner.url, started: false });

    await reuser.stop();
    expect(await client(owner.url).ping()).toBe('PONG');
  });

  it('starts a new server when the published URL is stale', async () => {
    const config = hubConfig(tempDir());
    fs.mkdirSync(path.dirname(redisUrlFile(config)), { recursive: true });
    fs.writeFileSync(redisUrlFile(config), `redis://127.0.0.1:${await unusedPort()}\n`);

    const handle = await start(config);
    expect(handle.started).toBe(true);
    expect(await client(handle.url).ping()).toBe('PONG');
  });

  it('explains how to install Redis when redis-server is not on PATH', async () => {
    const config = hubConfig(tempDir());
    const emptyPath = tempDir();
    const attempt = ensureRedis(config, log, { env: { ...process.env, PATH: emptyPath } });
    await expect(attempt).rejects.toBeInstanceOf(RedisMissingError);
    const message = await attempt.catch((e: Error) => e.message);
    expect(message).toContain('sudo apt-get install -y redis-server');
    expect(message).toContain('brew install redis');
    expect(message).toContain('docker compose up');
    expect(message).toContain('REDIS_URL');
  });
});

describe('ensureRedis with REDIS_URL', () => {
  it('uses the given Redis without starting one', async () => {
    const dataDir = tempDir();
    const handle = await start(hubConfig(dataDir, { REDIS_URL: testRedisUrl() }));
    expect(handle).toMatchObject({ url: testRedisUrl(), started: false });
    expect(fs.existsSync(path.join(dataDir, 'redis'))).toBe(false);
  });

  it('fails naming the URL when nothing answers there', async () => {
    const url = `redis://127.0.0.1:${await unusedPort()}`;
    const attempt = ensureRedis(hubConfig(tempDir(), { REDIS_URL: url }), log);
    await expect(attempt).rejects.toBeInstanceOf(RedisUnavailableError);
    await expect(attempt).rejects.toThrow(`REDIS_URL ${url}`);
  });

  it('never shows the password from REDIS_URL in its error', async () => {
    const url = `redis://:s3cret@127.0.0.1:${await unusedPort()}`;
    const attempt = ensureRedis(hubConfig(tempDir(), { REDIS_URL: url }), log);
    const message = await attempt.catch((e: Error) => e.message);
    expect(message).toContain('did not answer PING');
    expect(message).not.toContain('s3cret');
  });
});
