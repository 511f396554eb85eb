/**
 * A process a test starts from source (test/hub-process-control.ts TEST_CHILD_NODE_ARGS: tsx and
 * test/die-with-parent.ts) stops when the process that started it dies without clean-up — as a Jest worker does when
 * Jest force-exits it after a test timed out. Here a stand-in parent (a plain Node process) starts the child and is
 * SIGKILLed; the child must then be gone: stopped by its own SIGTERM handler (the hub's clean stop), or, if that stop
 * hangs, SIGKILLed after the grace.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { pathToFileURL } from 'node:url';
import { PROJECT_ROOT } from '../shared/config.js';
import { TEST_CHILD_NODE_ARGS, until } from './hub-process-control.js';
import { startRedisProcess } from './redis-process.js';

/** Gone: no such process, or a zombie (dead, waiting for whichever process adopted it to reap it). */
function gone(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return true;
  }
  try {
    // /proc/<pid>/stat: "pid (comm) state …" — the state follows the last ')'.
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
  } catch {
    return true;
  }
}

/** The stand-in for a Jest worker: starts `child` (Node code, run with the test children's flags) and prints its pid. */
const PARENT = `
const { spawn } = require('node:child_process');
const [args, env] = JSON.parse(process.argv[1]);
const child = spawn(process.execPath, args, { stdio: ['ignore', 'inherit', 'inherit'], env: { ...process.env, ...env } });
child.once('spawn', () => process.stdout.write('CHILD ' + child.pid + '\\n'));
setInterval(() => {}, 60_000);
`;

/**
 * Starts a parent whose child runs `childCode` (plain JavaScript) and waits until the child has said READY; resolves to
 * both pids. The child's lines go to `out`.
 */
async function family(childCode: string, env: Record<string, string>, out: string[]): Promise<{ parent: number; child: number }> {
  const args = [...TEST_CHILD_NODE_ARGS, '--input-type=module', '-e', childCode];
  const parent = spawn(process.execPath, ['-e', PARENT, JSON.stringify([args, env])], { stdio: ['ignore', 'pipe', 'pipe'] });
  parent.stderr.on('data', (d: Buffer) => out.push(d.toString()));
  const lines = createInterface({ input: parent.stdout });
  let child = 0;
  lines.on('line', (line) => {
    out.push(line);
    if (line.startsWith('CHILD ')) child = Number(line.slice(6));
  });
  await until('the child started and ready', async () => child > 0 && out.includes('READY'), 120_000);
  return { parent: parent.pid!, child };
}

describe('a process a test starts dies with the process that started it', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'infoshare-die-with-parent-'));
  const started: number[] = [];

  afterAll(() => {
    for (const pid of started) if (!gone(pid)) process.kill(pid, 'SIGKILL');
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('runs its clean stop (SIGTERM) once its parent is SIGKILLed', async () => {
    const marker = path.join(dir, 'stopped');
    // A hub-like child: alive until SIGTERM, then a clean stop that leaves a mark.
    const child = `
      import fs from 'node:fs';
      process.once('SIGTERM', () => { fs.writeFileSync(${JSON.stringify(marker)}, 'clean stop'); process.exit(0); });
      setInterval(() => {}, 60_000);
      console.log('READY');
    `;
    const out: string[] = [];
    const pids = await family(child, {}, out);
    started.push(pids.parent, pids.child);
    expect(gone(pids.child)).toBe(false);

    process.kill(pids.parent, 'SIGKILL');
    await until('the orphaned child gone', async () => gone(pids.child), 60_000);
    expect(fs.readFileSync(marker, 'utf8')).toBe('clean stop');
  });

  it('is SIGKILLed after the grace when its stop hangs', async () => {
    // A child whose stop never ends (a hub waiting on a Redis that does not answer).
    const child = `
      process.on('SIGTERM', () => console.log('stopping, forever'));
      setInterval(() => {}, 60_000);
      console.log('READY');
    `;
    const out: string[] = [];
    const pids = await family(child, { INFOSHARE_TEST_ORPHAN_GRACE_MS: '1000' }, out);
    started.push(pids.parent, pids.child);

    process.kill(pids.parent, 'SIGKILL');
    // Its SIGTERM handler ran (the stop was asked for first), and the process is gone all the same.
    await until('the orphaned child asked to stop', async () => out.includes('stopping, forever'), 60_000);
    await until('the orphaned child gone', async () => gone(pids.child), 60_000);
  });
});

/** The watches (test/stop-with-parent.ts) this process started over process `pid`. */
function watchesOf(pid: number): number[] {
  return fs.readdirSync('/proc').filter((d) => /^\d+$/.test(d)).flatMap((d) => {
    try {
      const args = fs.readFileSync(`/proc/${d}/cmdline`, 'utf8').split('\0');
      return args.includes('stop-with-parent') && args.includes(String(pid)) && args.includes(String(process.pid)) ? [Number(d)] : [];
    } catch {
      return []; // gone meanwhile
    }
  });
}

describe('a redis-server a test starts itself stops with the process that started it', () => {
  const started: number[] = [];

  afterAll(() => {
    for (const pid of started) if (!gone(pid)) process.kill(pid, 'SIGKILL');
  });

  it('is stopped once the test process that started it is SIGKILLed (a force-exited Jest worker)', async () => {
    // The stand-in Jest worker is the child here: it starts a redis-server as a test does, and is SIGKILLed.
    const worker = `
      const { startRedisProcess } = await import(${JSON.stringify(pathToFileURL(path.join(PROJECT_ROOT, 'test', 'redis-process.ts')).href)});
      const redis = await startRedisProcess('everysec');
      console.log('REDIS ' + redis.pid);
      setInterval(() => {}, 60_000);
      console.log('READY');
    `;
    const out: string[] = [];
    const pids = await family(worker, {}, out);
    const redis = Number(out.find((line) => line.startsWith('REDIS '))?.slice(6));
    started.push(pids.parent, pids.child, redis);
    expect(redis).toBeGreaterThan(0);
    expect(gone(redis)).toBe(false);

    process.kill(pids.child, 'SIGKILL');
    await until('the orphaned redis-server gone', async () => gone(redis), 60_000);
  });

  it('leaves no watch behind when the test stops its server (or kills it, and starts it again under a new watch)', async () => {
    const redis = await startRedisProcess('everysec');
    try {
      const first = redis.pid!;
      await until('the first watch running', async () => watchesOf(first).length === 1, 60_000);
      await redis.kill();
      await until('the first watch ended', async () => watchesOf(first).length === 0, 60_000);
      await redis.restart();
      const second = redis.pid!;
      await until('the second watch running', async () => watchesOf(second).length === 1, 60_000);
      await redis.stop();
      await until('the second watch ended', async () => watchesOf(second).length === 0, 60_000);
    } finally {
      await redis.stop();
    }
  });
});
