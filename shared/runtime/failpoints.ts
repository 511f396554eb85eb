/**
 * Failpoints: named places where a crash test makes this process die on the
 * spot (SIGKILL — no clean-up, no finally blocks, as a power cut or the OOM
 * killer would), to prove that dying there loses nothing. Off unless the
 * environment names them: `INFOSHARE_FAILPOINTS=mpi.chunk.before-finish` kills
 * at the first pass, `name@3` at the third. A few name background work a test
 * holds back instead (`paused`), so a race the test does not mean to run cannot
 * happen under load. Never set in production; reading one variable costs
 * nothing when it is not.
 */
const armed = parse(process.env.INFOSHARE_FAILPOINTS ?? '');
const passes = new Map<string, number>();

function parse(spec: string): Map<string, number> {
  const points = new Map<string, number>();
  for (const part of spec.split(',').map((p) => p.trim()).filter(Boolean)) {
    const [name, at] = part.split('@');
    points.set(name!, at ? Math.max(1, Number.parseInt(at, 10) || 1) : 1);
  }
  return points;
}

/** Kills this process with SIGKILL if the named failpoint is armed and this is its pass. */
export function failpoint(name: string): void {
  const at = armed.get(name);
  if (at === undefined) return;
  const pass = (passes.get(name) ?? 0) + 1;
  passes.set(name, pass);
  if (pass === at) process.kill(process.pid, 'SIGKILL');
}

/** Whether a test holds the named background work back (armed under that name: it never kills). */
export function paused(name: string): boolean {
  return armed.has(name);
}
