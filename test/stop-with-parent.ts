/**
 * A redis-server a test starts itself (test/redis-process.ts, or `ensureRedis` called from a test) is no Node process:
 * test/die-with-parent.ts cannot be preloaded into it. When the Jest worker that started it dies without clean-up —
 * force-exited after a test timed out, SIGKILLed, crashed: no `afterAll`, no `exit` handler — the server is
 * re-parented and would run on, its port and data directory held, until someone kills it.
 *
 * `stopWithThisProcess(pid)` starts a watch beside it: a small shell (`/bin/sh`, no Node start-up: a few hundred kB)
 * started by this process, which once a second asks whether its own parent is still this process (/proc, else `ps`) and the watched
 * process still runs. When the watched process ends first (the test stopped it, or killed it on purpose and will start
 * it again under a new watch), the watch ends too. When this process is gone (the watch is re-parented, as the server
 * is), it sends the watched process SIGTERM (Redis flushes its AOF and exits) and SIGKILL after `graceSeconds` if it is
 * still there. The watched process itself is untouched: a test may still SIGKILL, SIGSTOP or restart it.
 */
import { spawn } from 'node:child_process';

/** The watch: `$1` the watched pid, `$2` this process's pid, `$3` the grace in seconds. */
const WATCH = String.raw`
child=$1; parent=$2; grace=$3
alive() { kill -0 "$child" 2>/dev/null; }
while alive; do
  if [ -r /proc/$$/stat ]; then ppid=$(sed 's/.*) [A-Za-z] \([0-9]*\).*/\1/' /proc/$$/stat); else ppid=$(ps -o ppid= -p $$ 2>/dev/null | tr -d ' '); fi
  # No answer (no ps, no /proc): not taken for a lost parent.
  if [ -n "$ppid" ] && [ "$ppid" != "$parent" ]; then
    kill -TERM "$child" 2>/dev/null
    waited=0
    while alive && [ "$waited" -lt "$grace" ]; do sleep 1; waited=$((waited + 1)); done
    alive && kill -KILL "$child" 2>/dev/null
    exit 0
  fi
  sleep 1
done
`;

/** Stops process `pid` (SIGTERM, SIGKILL after `graceSeconds`) once this process is gone without having stopped it. */
export function stopWithThisProcess(pid: number | undefined, graceSeconds = 30): void {
  if (pid === undefined || process.platform === 'win32') return;
  const watch = spawn('/bin/sh', ['-c', WATCH, 'stop-with-parent', String(pid), String(process.pid), String(graceSeconds)], { stdio: 'ignore' });
  watch.on('error', () => {}); // no /bin/sh: nothing to watch with (the server is then only stopped by the test's clean-up)
  // The watch never keeps this process alive.
  watch.unref();
}
