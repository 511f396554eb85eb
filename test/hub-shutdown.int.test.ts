/**
 * Stopping the hub (Ctrl-C on `npm start`, a supervisor's SIGTERM) when Redis has stopped
 * answering: the services' close waits on Redis (a worker's blocking read), so without a limit the
 * stop would wait forever and leave the hub running. With one, the stop gives up on the services
 * after INFOSHARE_SHUTDOWN_SECONDS, says so, and lets the process exit.
 */
import net from 'node:net';
import type { RunningHub } from '../services/hub.js';
import { startTestHub } from './in-process-hub.js';
import { startRedisProcess, type RedisProcess } from './redis-process.js';

let redis: RedisProcess;
let hub: RunningHub | undefined;

beforeAll(async () => {
  redis = await startRedisProcess();
});

afterAll(async () => {
  redis.resume();
  await redis.stop();
});

it('a stop while Redis hangs gives up on the services after INFOSHARE_SHUTDOWN_SECONDS and reports it', async () => {
  const connections = await connectionCounter(redis.url);
  hub = await hubStoppingWithin(2, 'hub-shutdown', connections.url);
  redis.pause();
  const stopping = hub.stop();
  // Generous against a loaded machine: what matters is that it ends, and says it was not clean. The timer is cleared:
  // left running, it held Jest's worker for 30 s after the suite ("A worker process has failed to exit gracefully").
  let timer: NodeJS.Timeout | undefined;
  const ended = await Promise.race([stopping, new Promise<'still waiting'>((resolve) => (timer = setTimeout(() => resolve('still waiting'), 30_000)))]);
  clearTimeout(timer);
  expect(ended).toBe(false);
  // It stopped regardless: none of its services still listens (the directory's port stayed bound until 2026-12-07).
  expect(await Promise.all(Object.values(hub.config.ports).map(refusesConnections))).toEqual(Object.values(hub.config.ports).map(() => true));
  // And it left nothing behind on Redis: every connection its services opened (a worker's blocking read, the audit
  // log's own connection) is cut — else their workers lived on with their timers, reconnecting for the process's life.
  expect(await connections.openOnceSettled()).toBe(0);
  await connections.close();
});

it('a stop while Redis answers closes every service cleanly', async () => {
  redis.resume();
  hub = await hubStoppingWithin(30, 'hub-shutdown-2');
  expect(await hub.stop()).toBe(true);
});

/** A hub on the test's Redis (no demo data) whose stop gives the services `seconds` (INFOSHARE_SHUTDOWN_SECONDS). */
function hubStoppingWithin(seconds: number, keyPrefix: string, redisUrl = redis.url) {
  // startTestHub: a reserved port taken by another process before the hub listened is a new start on new ports.
  return startTestHub(keyPrefix, {
    env: { ...process.env, REDIS_URL: redisUrl, INFOSHARE_SHUTDOWN_SECONDS: String(seconds) },
    loadFixtures: false,
  });
}

/** Whether nothing listens on the local port (a connection is refused). */
function refusesConnections(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', () => resolve(true));
  });
}

/**
 * A TCP relay in front of Redis that counts the connections its clients hold open: it sees a client hang up even
 * while the Redis behind it is frozen (which could not say so until it runs again).
 */
async function connectionCounter(redisUrl: string) {
  const target = new URL(redisUrl);
  const open = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect(Number(target.port), target.hostname);
    open.add(client);
    client.pipe(upstream).pipe(client);
    const end = () => {
      open.delete(client);
      client.destroy();
      upstream.destroy();
    };
    client.on('close', end).on('error', end);
    upstream.on('close', end).on('error', end);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  return {
    url: `redis://127.0.0.1:${port}`,
    /** How many connections are still open once none has closed for half a second (a hang-up takes a moment to arrive). */
    async openOnceSettled(): Promise<number> {
      for (let last = -1; open.size !== last; ) {
        last = open.size;
        await new Promise((r) => setTimeout(r, 500));
      }
      return open.size;
    },
    close: () => {
      for (const socket of open) socket.destroy();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
