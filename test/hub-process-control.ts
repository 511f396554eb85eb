/**
 * Tests that kill the hub for real drive `test/hub-process.ts` in a child
 * process through these: start it (on the test Redis, or another), wait until
 * it listens, SIGKILL it (no clean-up runs, as after a power cut), or stop it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { pathToFileURL } from 'node:url';
import { demoAgencyKey } from '../shared/client/demo-keys.js';
import { getAccessToken } from '../shared/client/token.js';
import { PROJECT_ROOT } from '../shared/config.js';
import { testRedisUrl } from './redis.js';

export interface HubProcess {
  readonly urls: Readonly<Record<string, string>>;
  readonly child: ChildProcess;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export interface HubProcessOptions {
  /** The Redis the hub uses (default: the test run's). */
  readonly redisUrl?: string;
  /** Extra environment: failpoints, settings, `INFOSHARE_TEST_SKIP_FIXTURES`, `INFOSHARE_TEST_SKIP_DEMO_PEOPLE`. */
  readonly env?: Readonly<Record<string, string>>;
}

/**
 * How long a hub process may take to listen before it is killed and its start fails. A start from source is ~10 s of
 * CPU (tsx, the FHIR definitions): 60 s was exceeded at load ~20 on the 2-core machine (session 26: 3 of 4
 * alerts-reliability tests), and 127 s was measured at load 29.
 */
const START_TIMEOUT_MS = 180_000;

/**
 * What a test that starts hub processes may take (Jest's timeout): the most any test is given (300 s, README "Tests
 * and benchmarks"), since such a test starts up to three hubs (a crash, a restart) besides its own work.
 */
export const HUB_PROCESS_TEST_MS = 300_000;

/** How often a start that lost its reserved port to another process is tried again. */
const PORT_RACE_STARTS = 3;

/**
 * Starts `test/hub-process.ts` under `prefix`; resolves once it listens. The hub
 * reserves free ports and then listens on them: on a machine running many suites
 * at once another process can take one in between (EADDRINUSE), and that start
 * is tried again on new ports — any other early exit fails at once.
 */
export async function startHubProcess(prefix: string, options: HubProcessOptions = {}): Promise<HubProcess> {
  for (let start = 1; ; start++) {
    try {
      return await startHubProcessOnce(prefix, options);
    } catch (err) {
      if (!(err instanceof PortTaken) || start >= PORT_RACE_STARTS) throw err;
    }
  }
}

class PortTaken extends Error {}

/**
 * How a test runs a Node program from source so that it does not outlive the test: tsx, and test/die-with-parent.ts,
 * which stops the process once the one that started it is gone (a Jest worker force-exited after a timeout: no
 * clean-up of the test's ran).
 */
export const TEST_CHILD_NODE_ARGS: readonly string[] = ['--import', 'tsx', '--import', pathToFileURL(path.join(PROJECT_ROOT, 'test', 'die-with-parent.ts')).href];

/** The hub processes this test process started that still run: killed when it exits with them still running. */
const running = new Set<ChildProcess>();
let killOnExit = false;

function track(child: ChildProcess): void {
  running.add(child);
  child.once('exit', () => running.delete(child));
  if (killOnExit) return;
  killOnExit = true;
  // A worker that exits (normally, or by process.exit) with a hub still running takes it along; one killed outright
  // runs no handler — the hub's own watch (test/die-with-parent.ts) sees its parent gone.
  process.once('exit', () => {
    for (const child of running) child.kill('SIGKILL');
  });
}

async function startHubProcessOnce(prefix: string, options: HubProcessOptions): Promise<HubProcess> {
  const child = spawn(process.execPath, [...TEST_CHILD_NODE_ARGS, path.join(PROJECT_ROOT, 'test', 'hub-process.ts')], {
    cwd: PROJECT_ROOT,
    env: {
      ...process.env,
      NODE_OPTIONS: '',
      REDIS_URL: options.redisUrl ?? testRedisUrl(),
      INFOSHARE_KEY_PREFIX: prefix,
      INFOSHARE_LOG_LEVEL: 'error',
      ...options.env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  track(child);
  // Its errors go where they always went (the test's stderr); a lost port is noticed on the way.
  let portTaken = false;
  child.stderr.on('data', (chunk: Buffer) => {
    if (chunk.includes('EADDRINUSE')) portTaken = true;
    process.stderr.write(chunk);
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  const urls = await new Promise<Record<string, string>>((resolve, reject) => {
    let state: 'starting' | 'ready' | 'late' = 'starting';
    // A hub that does not start in time is killed, and the start fails once it is gone: left running, it kept the
    // test's worker alive past the suite's end (Jest: "a worker process has failed to exit gracefully").
    const timer = setTimeout(() => {
      state = 'late';
      child.kill('SIGKILL');
    }, START_TIMEOUT_MS);
    const lines = createInterface({ input: child.stdout });
    lines.on('line', (line) => {
      if (!line.startsWith('READY ') || state !== 'starting') return;
      state = 'ready';
      clearTimeout(timer);
      resolve(JSON.parse(line.slice(6)) as Record<string, string>);
    });
    void exited.then(async ({ code, signal }) => {
      // An exit after it was ready is the caller's (stopHubProcess, a failpoint): nothing to judge, nothing to wait for
      // (a one-second wait armed on every exit outlived the suite too).
      if (state === 'ready') return;
      clearTimeout(timer);
      if (state === 'late') return reject(new Error(`hub process did not start within ${START_TIMEOUT_MS / 1000} s: killed`));
      // Its last words may still be on their way when it exits: read them (briefly) before judging the exit.
      await lastWordsOf(child);
      const why = `hub process exited before it was ready (${code ?? signal})`;
      reject(portTaken ? new PortTaken(`${why}: a reserved port was taken meanwhile`) : new Error(why));
    });
  });
  return { urls, child, exited };
}

/** Resolves once the child's stderr has closed (all it wrote has been read), or after at most a second. */
function lastWordsOf(child: ChildProcess): Promise<void> {
  const { stderr } = child;
  if (!stderr || stderr.closed) return Promise.resolve();
  return new Promise((resolve) => {
    const late = setTimeout(resolve, 1_000);
    stderr.once('close', () => {
      clearTimeout(late);
      resolve();
    });
  });
}

/** How long a hub asked to stop (SIGTERM) may take before it is killed. */
const STOP_GRACE_MS = 30_000;

/**
 * Stops the hub cleanly (SIGTERM) if it still runs, and waits for it to exit — at most `graceMs`: a hub whose
 * stop waits on something that never comes (a Redis connection whose answers a test's proxy holds back, an
 * HTTP request stuck on it) is then SIGKILLed, said on stderr, so a test's clean-up never hangs the run.
 */
export async function stopHubProcess(hub: HubProcess, graceMs = STOP_GRACE_MS): Promise<void> {
  if (hub.child.exitCode === null && hub.child.signalCode === null) hub.child.kill('SIGTERM');
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), graceMs)));
  try {
    if ((await Promise.race([hub.exited, late])) === 'late') {
      process.stderr.write(`hub process ${hub.child.pid ?? '?'} did not stop within ${graceMs} ms of SIGTERM: killed\n`);
      await killHubProcess(hub);
    }
  } finally {
    clearTimeout(timer);
  }
}

/** Kills the hub on the spot (SIGKILL: no finally block, no clean-up runs) and waits for it to be gone. */
export async function killHubProcess(hub: HubProcess): Promise<void> {
  if (hub.child.exitCode === null && hub.child.signalCode === null) hub.child.kill('SIGKILL');
  await hub.exited;
}

/** An access token for a demo agency from the hub's token endpoint (client credentials, signed assertion). */
export async function tokenFor(hub: HubProcess, agencyId: string): Promise<string> {
  const { access_token } = await getAccessToken({ agencyId, tokenUrl: `${hub.urls.directory}/auth/token`, privateKeyPem: await demoAgencyKey(agencyId) });
  return access_token;
}

/** Polls `check` every 100 ms until it holds; throws after `timeoutMs`. */
export async function until(what: string, check: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
