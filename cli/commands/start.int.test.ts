/**
 * Two terminals, as a user has them: `infoshare start` given REDIS_URL (and a
 * key prefix) in the first, `infoshare replay` and `infoshare fixtures load`
 * in the second without either. Real processes; the test Redis plays the
 * user's own Redis.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Redis } from 'ioredis';
import { deletePrefix, testRedis, testRedisUrl, uniquePrefix } from '../../test/redis.js';
import { PROJECT_ROOT, SERVICE_NAMES } from '../../shared/config.js';
import { hubNoteFile } from '../../shared/redis/hub-note.js';
import { freePortSettings } from '../../shared/runtime/listen.js';
import { TEST_CHILD_NODE_ARGS } from '../../test/hub-process-control.js';

/** The CLI from source; a hub it starts stops (with its Redis) if this test's worker dies without stopping it. */
const CLI = [...TEST_CHILD_NODE_ARGS, path.join(PROJECT_ROOT, 'cli', 'main.ts')];
/** What a test or hook running the CLI from source may take: a start from source needed over 60 s at load ~20 (session 26). */
const CLI_FROM_SOURCE_MS = 240_000;

let dataDir: string;
let prefix: string;
let redis: Redis;
let hub: ChildProcess;
let hubOutput = '';
/** What both terminals share: the project's data directory and the ports (defaults on a user's machine). */
let shared: NodeJS.ProcessEnv;

function run(args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...CLI, ...args], { cwd: PROJECT_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

/** The second terminal: no REDIS_URL, no key prefix. */
function secondTerminal(): NodeJS.ProcessEnv {
  const env = { ...process.env, ...shared };
  delete env.REDIS_URL;
  delete env.INFOSHARE_KEY_PREFIX;
  return env;
}

beforeAll(async () => {
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'infoshare-hub-note-'));
  prefix = uniquePrefix('hubnote');
  redis = testRedis();
  shared = { INFOSHARE_DATA_DIR: dataDir, INFOSHARE_LOG_LEVEL: 'warn', NO_COLOR: '1', ...(await freePortSettings(SERVICE_NAMES)) };
  hub = spawn(process.execPath, [...CLI, 'start', '--no-fixtures'], {
    cwd: PROJECT_ROOT,
    env: { ...process.env, ...shared, REDIS_URL: testRedisUrl(), INFOSHARE_KEY_PREFIX: prefix },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  hub.stdout!.on('data', (d: Buffer) => (hubOutput += d.toString()));
  hub.stderr!.on('data', (d: Buffer) => (hubOutput += d.toString()));
  // A start from source is ~10 s of CPU (tsx, the FHIR definitions): over 60 s at load ~20, 127 s at load 29.
  const deadline = Date.now() + 180_000;
  while (!hubOutput.includes('Press Ctrl-C')) {
    if (hub.exitCode !== null || Date.now() > deadline) throw new Error(`the hub did not start:\n${hubOutput}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}, CLI_FROM_SOURCE_MS);

afterAll(async () => {
  if (hub && hub.exitCode === null) {
    hub.kill('SIGKILL');
    await once(hub, 'exit');
  }
  await deletePrefix(redis, prefix);
  await redis.quit();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

describe('a hub started with REDIS_URL, used from another terminal without it', () => {
  it('leaves a note of its Redis and key prefix, readable by its owner only', () => {
    const note = JSON.parse(fs.readFileSync(hubNoteFile({ dataDir }), 'utf8')) as Record<string, unknown>;
    expect(note).toMatchObject({ pid: hub.pid, redisUrl: testRedisUrl(), keyPrefix: prefix });
    expect(fs.statSync(hubNoteFile({ dataDir })).mode & 0o077).toBe(0);
  });

  it('keeps its terminal for a person: the URLs last, where its log is, and no JSON log line among them', () => {
    const logFile = path.join(dataDir, 'logs', 'hub.log');
    expect(hubOutput).toContain(`logs:           ${logFile}`);
    expect(hubOutput.trimEnd().endsWith('Press Ctrl-C to stop.')).toBe(true);
    // What runs besides the services: where alerts are delivered from (no processes forked by default).
    expect(hubOutput).toContain('alerts are delivered from the alerts service’s own process (INFOSHARE_ALERTS_DELIVERY_PROCESSES=0)');
    expect(hubOutput.split('\n').filter((line) => line.trimStart().startsWith('{'))).toEqual([]);
    expect(fs.existsSync(logFile)).toBe(true);
  });

  it('says which port is taken and how to move the hub when a second hub is started on the same ports', async () => {
    const second = await run(['start', '--no-fixtures'], { ...secondTerminal(), REDIS_URL: testRedisUrl(), INFOSHARE_KEY_PREFIX: `${prefix}-second` });
    expect(second.code).toBe(1);
    expect(second.stderr).toContain(`Port ${shared.INFOSHARE_DIRECTORY_PORT} is already in use`);
    expect(second.stderr).toContain('INFOSHARE_PORT_OFFSET=200 npm start');
    expect(second.stderr).not.toMatch(/EADDRINUSE|\n\s+at /);
  }, CLI_FROM_SOURCE_MS);

  it('is found by `fixtures load`, which loads the demo partnership under the hub’s key prefix', async () => {
    const res = await run(['fixtures', 'load'], secondTerminal());
    expect(res.stderr).toBe('');
    expect(res.code).toBe(0);
    expect(res.stdout).toMatch(/demo partnership: Organization 17 created/);
    expect((await redis.keys(`${prefix}:*Organization*`)).length).toBeGreaterThan(0);
  }, CLI_FROM_SOURCE_MS);

  it('prints for every service URLs that answer (FHIR metadata, health), and for the simulator an agency’s inbox (once the demo agencies are loaded)', async () => {
    const printed = [...hubOutput.matchAll(/\((?:FHIR|what an agency received) (\S+), health (\S+)\)/g)];
    expect(printed).toHaveLength(SERVICE_NAMES.length);
    for (const [, first, health] of printed) {
      const url = first!.replace('<id>', 'nhs-lothian');
      expect([url, (await fetch(url)).status]).toEqual([url, 200]);
      expect([health, (await fetch(health!)).status]).toEqual([health, 200]);
    }
  });

  it('is found by `replay`, which reads the audit trail and checks every step’s criteria', async () => {
    const res = await run(['replay', 'fixtures/scenarios/foundation/tokens.json'], secondTerminal());
    expect(res.stdout).not.toContain('no Redis to read the audit trail');
    expect(res.stdout).toMatch(/criteria SI-L3/);
    expect(res.stdout).toMatch(/1 scenario: 1 passed, 0 failed/);
    expect(res.code).toBe(0);
  }, CLI_FROM_SOURCE_MS);

  it('removes its note when it stops, so nothing later mistakes a stopped hub for a running one', async () => {
    hub.kill('SIGINT');
    const [code] = (await once(hub, 'exit')) as [number | null];
    expect(code).toBe(0);
    expect(fs.existsSync(hubNoteFile({ dataDir }))).toBe(false);
    const res = await run(['replay', 'fixtures/scenarios/foundation/tokens.json'], secondTerminal());
    expect(res.code).toBe(1);
    // A hub's clean stop (up to INFOSHARE_SHUTDOWN_SECONDS, 30 s) and a CLI started from source: 30 s was tight on a busy machine.
  }, CLI_FROM_SOURCE_MS);
});
