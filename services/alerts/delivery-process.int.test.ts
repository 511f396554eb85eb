/**
 * A delivery worker process whose alerts service goes away stops even when its
 * Redis does not answer: a clean stop would wait on Redis forever, and the
 * process would be left running with no one to stop it.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../../shared/config.js';
import { loadAlertsConfig } from './config.js';
import { DELIVERY_PROCESS_SETTINGS, type DeliveryProcessSettings } from './delivery-processes.js';

/** Forks the delivery worker process against `redisUrl` (stdio ignored). */
function forkDeliveryProcess(redisUrl: string) {
  const settings: DeliveryProcessSettings = { hub: { ...loadConfig({}), redisUrl }, alerts: loadAlertsConfig({}) };
  const entry = fileURLToPath(new URL('./delivery-process.ts', import.meta.url));
  return fork(entry, [], { env: { ...process.env, [DELIVERY_PROCESS_SETTINGS]: JSON.stringify(settings) }, execArgv: [...process.execArgv, '--import', 'tsx'], stdio: 'ignore' });
}

/**
 * Forks the process against a "Redis" that accepts connections and answers nothing (every command waits for ever),
 * runs `act` with it and returns how it exited.
 */
async function exitAgainstSilentRedis(act: (child: ChildProcess, connected: Promise<unknown>) => Promise<void>) {
  const sockets: net.Socket[] = [];
  const silent = net.createServer((socket) => sockets.push(socket));
  silent.listen(0, '127.0.0.1');
  await once(silent, 'listening');
  const connected = once(silent, 'connection');
  const child = forkDeliveryProcess(`redis://127.0.0.1:${(silent.address() as AddressInfo).port}/0`);
  const exited = once(child, 'exit');
  try {
    await act(child, connected);
    const [code, signal] = (await exited) as [number | null, NodeJS.Signals | null];
    return { code, signal };
  } finally {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    for (const socket of sockets) socket.destroy();
    silent.close();
  }
}

it('stops when its service goes away while its Redis takes connections and never answers', async () => {
  const exit = await exitAgainstSilentRedis(async (child, connected) => {
    // It has connected to Redis: its start-up now waits on an answer that never comes.
    await connected;
    child.disconnect();
  });
  // It ends by itself either way: at once (0) when the news came while start-up still waited on Redis, or after
  // STOP_GRACE_MS (1, "the stop did not finish") when start-up had got far enough to try a clean stop — whether it
  // had depends on the machine's speed (start-up sends its commands without waiting for their answers).
  expect(exit.signal).toBeNull();
  expect([0, 1]).toContain(exit.code);
});

it('stops when its service went away before it had loaded (its channel already closed when it starts listening)', async () => {
  // At once: the child is still loading its modules — a process that missed its service's going would wait on the
  // silent Redis for ever.
  const exit = await exitAgainstSilentRedis(async (child) => child.disconnect());
  expect(exit).toEqual({ code: 0, signal: null });
});
