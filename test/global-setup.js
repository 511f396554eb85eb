// Jest global setup: a private redis-server for the whole run, unless REDIS_URL is set.
// Plain JS because Node loads this file itself (no ts-jest, no moduleNameMapper).
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

async function waitForPong(port, deadlineMs) {
  const until = Date.now() + deadlineMs;
  while (Date.now() < until) {
    const ok = await new Promise((resolve) => {
      const sock = net.connect(port, '127.0.0.1');
      sock.once('connect', () => sock.write('PING\r\n'));
      sock.once('data', (d) => { sock.destroy(); resolve(String(d).startsWith('+PONG')); });
      sock.once('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`redis-server did not answer on port ${port} within ${deadlineMs} ms`);
}

export default async function globalSetup() {
  if (process.env.REDIS_URL) return;
  const probe = spawnSync('redis-server', ['--version'], { encoding: 'utf8' });
  if (probe.error) {
    // Same advice as RedisMissingError in shared/redis/server.ts (which this plain-JS file cannot import).
    throw new Error(
      'redis-server was not found on PATH, and REDIS_URL is not set. Install Redis ' +
        '(Debian/Ubuntu: sudo apt-get install -y redis-server; macOS: brew install redis) ' +
        'or set REDIS_URL to a running Redis, e.g. REDIS_URL=redis://127.0.0.1:6379 npm test.',
    );
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'infoshare-test-redis-'));
  const port = await freePort();
  // Unlike the hub's own Redis (appendfsync always), a throwaway test server only
  // needs AOF semantics, not crash durability, so everysec keeps the suite fast.
  const child = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--appendonly', 'yes', '--appendfsync', 'everysec',
      '--maxmemory-policy', 'noeviction', '--save', '', '--daemonize', 'no', '--logfile', path.join(dir, 'redis.log')],
    { stdio: 'ignore' },
  );
  const stop = () => { try { child.kill('SIGKILL'); } catch { /* already gone */ } };
  process.once('exit', stop);
  await waitForPong(port, 5000);
  process.env.REDIS_URL = `redis://127.0.0.1:${port}`;
  globalThis.__INFOSHARE_TEST_REDIS__ = { child, dir };
}
