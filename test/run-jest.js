// Runs Jest (ESM mode) under a watchdog; what `npm test` calls after the type check.
//
// Why: when a Jest worker process dies or wedges (seen once in CI on this
// stack: every suite but one finished, then nothing for 90 minutes), Jest waits
// for it forever. A running suite none of whose tests has finished for
// INFOSHARE_TEST_STALL_SECONDS (default 600: twice the longest per-test timeout
// in the suite, 300 s, so a slow test on a busy machine is not taken for a stuck
// one) is a stuck worker. A long suite whose tests keep finishing is slow, not
// stuck: its whole duration does not count (the wide bad-input corpus takes
// minutes, and over 300 s on a loaded 2-core machine). The watchdog then says which suites were stuck,
// stops that Jest, and runs the suites that had not finished once more in a
// single process (no workers to lose). A suite that hangs by itself hangs
// again there and fails the run; a suite that failed is never re-run.
//
// Also: a Jest that has reported its result but does not exit within 60 s
// (an open handle) is stopped and its reported result stands.
//
// Usage: node test/run-jest.js [jest arguments…]  (exit code: Jest's)
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const JEST = path.join(ROOT, 'node_modules', 'jest', 'bin', 'jest.js');
const STALL_MS = Number(process.env.INFOSHARE_TEST_STALL_SECONDS ?? 600) * 1000;
const EXIT_GRACE_MS = 60_000;
const POLL_MS = 2_000;

function jestEnv(progressFile) {
  const nodeOptions = [process.env.NODE_OPTIONS, '--experimental-vm-modules'].filter(Boolean).join(' ');
  return { ...process.env, NODE_OPTIONS: nodeOptions, INFOSHARE_TEST_PROGRESS: progressFile };
}

function readProgress(file) {
  if (!fs.existsSync(file)) return [];
  return fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line));
}

/**
 * Which suites are running (each with when it last showed progress: it started, or one of its tests finished),
 * finished or failed, and whether Jest reported the end of the run.
 */
function summarise(events) {
  const running = new Map();
  const done = new Set();
  let failed = false;
  let complete;
  let lastEventAt;
  for (const e of events) {
    lastEventAt = e.at;
    if (e.event === 'start') running.set(e.path, e.at);
    if (e.event === 'test' && running.has(e.path)) running.set(e.path, e.at);
    if (e.event === 'done') {
      running.delete(e.path);
      done.add(e.path);
      failed ||= e.failed;
    }
    if (e.event === 'complete') complete = e;
  }
  return { running, done, failed, complete, lastEventAt };
}

/** One Jest run under the watchdog. Resolves to { code } or { stalled, done, failed }. */
function runWatched(args) {
  const progressFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'infoshare-jest-')), 'progress.jsonl');
  // Its own process group, so the watchdog can stop Jest, its workers and its redis-server together.
  const child = spawn(process.execPath, [JEST, ...args], { cwd: ROOT, env: jestEnv(progressFile), stdio: 'inherit', detached: true });
  const stopGroup = (signal) => {
    try {
      process.kill(-child.pid, signal);
    } catch {
      /* already gone */
    }
  };
  const forward = (signal) => () => stopGroup(signal);
  const onInt = forward('SIGINT');
  const onTerm = forward('SIGTERM');
  process.on('SIGINT', onInt);
  process.on('SIGTERM', onTerm);

  const startedAt = Date.now();
  return new Promise((resolve) => {
    let verdict;
    const timer = setInterval(() => {
      const state = summarise(readProgress(progressFile));
      const now = Date.now();
      if (state.complete && now - state.complete.at > EXIT_GRACE_MS) {
        console.error(`\nrun-jest: Jest reported its result but had not exited ${EXIT_GRACE_MS / 1000} s later (an open handle); stopping it.`);
        verdict = { code: state.complete.success ? 0 : 1 };
        stopGroup('SIGKILL');
        return;
      }
      const stuck = [...state.running].filter(([, since]) => now - since > STALL_MS).map(([p]) => path.relative(ROOT, p));
      // A worker that dies between suites leaves none running, and Jest still waits for it: silence counts too.
      const silent = !state.complete && now - (state.lastEventAt ?? startedAt) > STALL_MS;
      if (stuck.length > 0 || silent) {
        const what = stuck.length > 0 ? `no test of ${stuck.join(', ')} finished` : 'no suite started or finished';
        console.error(`\nrun-jest: ${what} for ${STALL_MS / 1000} s: a Jest worker is stuck or died; stopping this Jest.`);
        verdict = { stalled: true, done: state.done, failed: state.failed };
        stopGroup('SIGKILL');
      }
    }, POLL_MS);
    child.on('exit', (code, signal) => {
      clearInterval(timer);
      process.off('SIGINT', onInt);
      process.off('SIGTERM', onTerm);
      fs.rmSync(path.dirname(progressFile), { recursive: true, force: true });
      resolve(verdict ?? { code: code ?? (signal ? 1 : 0) });
    });
  });
}

function listTests(args) {
  const out = spawnSync(process.execPath, [JEST, '--listTests', '--json', ...args], { cwd: ROOT, env: jestEnv(''), encoding: 'utf8' });
  if (out.status !== 0) throw new Error(`jest --listTests failed: ${out.stderr}`);
  return JSON.parse(out.stdout);
}

const args = process.argv.slice(2);
const first = await runWatched(args);
if (!first.stalled) process.exit(first.code);
if (first.failed) {
  console.error('run-jest: some suites had already failed; not re-running the rest.');
  process.exit(1);
}
const unfinished = listTests(args).filter((p) => !first.done.has(p));
console.error(`run-jest: re-running the ${unfinished.length} suite(s) that had not finished, in one process (--runInBand).`);
const second = await runWatched(['--runInBand', '--runTestsByPath', ...unfinished]);
process.exit(second.stalled ? 1 : second.code);
