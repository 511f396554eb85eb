/** Command-line options of `npm run bench:alerts` (`-- --alerts 3000 --rate 100`). */
import { UsageError } from '../mpi/options.js';

export interface AlertsBenchOptions {
  /** Alerts raised as fast as the hub takes them, for the throughput figure (default 1,000). */
  readonly alerts: number;
  /** Requests in flight at once during the throughput phase (default 16). */
  readonly concurrency: number;
  /** Offered rate of the latency phase, alerts per second (default 100: the fixed rate). */
  readonly rate: number;
  /** Length of the latency phase in seconds (default 10). */
  readonly seconds: number;
  /** Distinct children the alerts are about (registered with the MPI first; default 200). */
  readonly subjects: number;
  /** Where the result is appended (default bench/results/alerts.json; `-` for nowhere). */
  readonly out: string;
  /** Directory for a V8 CPU profile of the hub process (none by default). */
  readonly hubCpuProf?: string;
}

export const USAGE = `Usage: npm run bench:alerts -- [--alerts N] [--concurrency N] [--rate N] [--seconds N] [--subjects N] [--out FILE|-] [--hub-cpu-prof DIR]
Raw BullMQ first (the hub's enqueue mode and job size, a trivial processor), then the hub in its own
process (directory, MPI, alerts, agency-sim) on the same private redis-server (appendfsync always):
alerts raised over HTTP, delivered to agency-sim over HTTP and acknowledged — throughput, then latency
at a fixed offered rate. Progress on stderr; one JSON line on stdout, appended to the results file.`;

export function parseOptions(argv: readonly string[]): AlertsBenchOptions {
  const values = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--help' || arg === '-h') throw new UsageError('');
    const m = /^--([a-z-]+)(?:=(.*))?$/.exec(arg);
    if (!m) throw new UsageError(`Unexpected argument ${arg}`);
    const value = m[2] ?? argv[++i];
    if (value === undefined) throw new UsageError(`--${m[1]} needs a value`);
    values.set(m[1]!, value);
  }
  const known = new Set(['alerts', 'concurrency', 'rate', 'seconds', 'subjects', 'out', 'hub-cpu-prof']);
  for (const name of values.keys()) if (!known.has(name)) throw new UsageError(`Unknown option --${name}`);
  const hubCpuProf = values.get('hub-cpu-prof');
  return {
    alerts: positive(values, 'alerts', 1_000),
    concurrency: positive(values, 'concurrency', 16),
    rate: positive(values, 'rate', 100),
    seconds: positive(values, 'seconds', 10),
    subjects: positive(values, 'subjects', 200),
    out: values.get('out') ?? 'bench/results/alerts.json',
    ...(hubCpuProf !== undefined ? { hubCpuProf } : {}),
  };
}

function positive(values: ReadonlyMap<string, string>, name: string, fallback: number): number {
  const raw = values.get(name);
  if (raw === undefined) return fallback;
  const n = Number(raw.replace(/_/g, ''));
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`--${name} must be a positive integer (got ${raw})`);
  return n;
}
