/**
 * Where full verification's threads connect (`rawConnectionOf`): over the Unix socket of the hub's own
 * redis-server when the client's Redis is that server on this host, else as the client connects.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Redis } from 'ioredis';
import { loadConfig } from '../../shared/config.js';
import { createLogger } from '../../shared/log.js';
import { connectRedis } from '../../shared/redis/connection.js';
import { ensureRedis, type RedisHandle } from '../../shared/redis/server.js';
import { testRedis } from '../../test/redis.js';
import { stopWithThisProcess } from '../../test/stop-with-parent.js';
import { rawConnectionOf } from './log-verify.js';

const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'infoshare-verify-socket-'));
let hub: RedisHandle;
let hubClient: Redis;
let plain: Redis;

beforeAll(async () => {
  hub = await ensureRedis(loadConfig({ INFOSHARE_DATA_DIR: dataDir }), createLogger('verify-socket-test', 'silent'));
  stopWithThisProcess(hub.pid); // should this worker die without its clean-up
  hubClient = connectRedis(hub.url);
  plain = testRedis();
});

afterAll(async () => {
  await hubClient.quit();
  plain.disconnect();
  await hub.stop();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

describe('verification connection', () => {
  it('reads the hub Redis through its Unix socket, with the client\'s login and database', async () => {
    const settings = await rawConnectionOf(hubClient);
    expect(settings).toMatchObject({ path: path.resolve(dataDir, 'redis', 'redis.sock'), db: 0 });
    expect(settings.host).toBeUndefined();
    expect(settings.port).toBeUndefined();
  });

  it('connects as the client does when the socket at the path its Redis names answers for another server', async () => {
    const otherDir = fs.mkdtempSync(path.join(os.tmpdir(), 'infoshare-verify-socket-'));
    const other = await ensureRedis(loadConfig({ INFOSHARE_DATA_DIR: otherDir }), createLogger('verify-socket-test', 'silent'));
    stopWithThisProcess(other.pid);
    const named = path.resolve(dataDir, 'redis', 'redis.sock');
    try {
      // The hub's server still listens (its socket moved aside); the path it names now leads to the other server.
      fs.renameSync(named, `${named}.aside`);
      fs.symlinkSync(path.resolve(otherDir, 'redis', 'redis.sock'), named);
      const settings = await rawConnectionOf(hubClient);
      expect(settings.path).toBeUndefined();
      expect(settings).toMatchObject({ host: hubClient.options.host, port: hubClient.options.port });
    } finally {
      fs.rmSync(named, { force: true });
      fs.renameSync(`${named}.aside`, named);
      await other.stop();
      fs.rmSync(otherDir, { recursive: true, force: true });
    }
  });

  it('connects as the client does when its Redis has no Unix socket', async () => {
    const settings = await rawConnectionOf(plain);
    expect(settings.path).toBeUndefined();
    expect(settings).toMatchObject({ host: plain.options.host, port: plain.options.port });
  });
});
