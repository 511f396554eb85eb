/**
 * Preloaded (`node --import tsx --import ./test/die-with-parent.ts …`) into every Node process a test starts that
 * would otherwise outlive it: the hub processes of test/hub-process-control.ts, `infoshare start` in
 * cli/commands/start.int.test.ts. When the process that started it is gone — a Jest worker force-exited after a test
 * timed out, SIGKILLed, crashed: no `exit` handler of its own ran — the process is re-parented, and this watch sees
 * it within a second: it sends itself SIGTERM (the hub's clean stop: its forked delivery processes and, for
 * `infoshare start`, its private redis-server stop with it) and, should that stop not end the process within
 * `INFOSHARE_TEST_ORPHAN_GRACE_MS` (default 30 s), SIGKILL. Before this a hub whose test's worker was force-exited ran
 * on for ~50 minutes (session 26), its queue workers polling the test Redis.
 *
 * The parent is read at start-up (`process.ppid`); a watch started with no parent to watch (ppid 1) does nothing.
 */
const POLL_MS = 1_000;
const graceMs = Number(process.env.INFOSHARE_TEST_ORPHAN_GRACE_MS ?? 30_000);
const parent = process.ppid;

if (parent > 1) {
  const watch = setInterval(() => {
    if (process.ppid === parent) return;
    clearInterval(watch);
    process.stderr.write(`process ${process.pid}: its parent ${parent} is gone — stopping (SIGTERM; SIGKILL after ${graceMs} ms)\n`);
    // Unreferenced: a stop that ends cleanly lets the process exit at once; one that hangs keeps it alive, and this fires.
    setTimeout(() => process.kill(process.pid, 'SIGKILL'), graceMs).unref();
    process.kill(process.pid, 'SIGTERM');
  }, POLL_MS);
  // The watch alone never keeps a process alive.
  watch.unref();
}

export {};
