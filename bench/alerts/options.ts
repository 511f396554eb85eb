/** Command-line options of `npm run bench:alerts` (`-- --alerts 3000 --rate 100`). */
import { choiceFlag, positiveFlag, readFlags, UsageError } from '../common/cli.js';

/** How the hub delivers to agency-sim: batched (the recipients' Endpoints opt in) or one message per request. */
export const DELIVERY_MODES = ['batched', 'single'] as const;
export type DeliveryMode = (typeof DELIVERY_MODES)[number];

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
  /** The hub's delivery worker processes (`INFOSHARE_ALERTS_DELIVERY_PROCESSES`; default 1; 0: in the alerts service's process). */
  readonly deliveryProcesses: number;
  /** `batched` (default): the recipients opt in to batched delivery; `single`: one message per request, as before. */
  readonly delivery: DeliveryMode;
  /** The batch size the recipients' Endpoints state (default 50). */
  readonly batchSize: number;
  /**
   * The delivery worker's attempts in flight per process (`INFOSHARE_ALERTS_DELIVERY_CONCURRENCY`), one hub per
   * value measured in turn in the same run against the same raw baseline; empty: the hub's own default.
   */
  readonly deliveryConcurrency: readonly number[];
  /** The delivery worker processes' nice increments (`INFOSHARE_ALERTS_DELIVERY_NICE`), a hub per value; empty: the default. */
  readonly deliveryNice: readonly number[];
  /** How many times the list of variants (concurrency × nice) is measured, in turn: interleaved runs (default 1). */
  readonly repeat: number;
  /**
   * Alerts raised (and delivered) before anything is measured (default 300). A hub runs for days: its figures are
   * those of a process whose hot paths V8 has compiled; with 300 the hub still compiles for the first seconds of
   * the measured phase (alertsperf, session 19), so `--warmup 1500` shows a warmer hub.
   */
  readonly warmup: number;
  /**
   * The private Redis's appendfsync: `always` (default) — the hub's durable setting, the one the targets are
   * about; `everysec` only to see what the disk's fsyncs cost the same run (a diagnosis, not a figure to report).
   */
  readonly fsync: 'always' | 'everysec';
}

export const USAGE = `Usage: npm run bench:alerts -- [--alerts N] [--concurrency N] [--rate N] [--seconds N] [--subjects N] [--out FILE|-] [--hub-cpu-prof DIR] [--delivery-processes N] [--delivery batched|single] [--batch-size N] [--delivery-concurrency N[,N…]] [--delivery-nice N[,N…]] [--repeat N] [--warmup N] [--fsync always|everysec]
Raw BullMQ first (the hub's enqueue mode and job size, a trivial processor), then the hub in its own
process (directory, MPI, alerts; its delivery worker processes, 1 by default) and agency-sim in another,
on the same private redis-server (appendfsync always):
alerts raised over HTTP, delivered to agency-sim over HTTP and acknowledged — throughput, then latency
at a fixed offered rate. By default the recipients' Endpoints opt in to batched delivery (up to --batch-size
messages per request); --delivery single keeps one message per request. --delivery-concurrency 128,32 measures
a hub per value (attempts in flight per delivery process) in turn, in the same run; --delivery-nice 0,10 the
same for the delivery processes' CPU priority below the hub's (every combination of the two lists); --repeat 2
measures the whole list twice, interleaved (byVariant; the first variant's figures are the line's own). --fsync everysec
runs the same on a Redis that fsyncs once a second (default always, the hub's durable setting the targets are about): a
diagnosis of how much of the latency is the disk's fsyncs. Progress on stderr; one JSON line on stdout, appended to the
results file.`;

export function parseOptions(argv: readonly string[]): AlertsBenchOptions {
  const values = readFlags(argv, ['alerts', 'concurrency', 'rate', 'seconds', 'subjects', 'out', 'hub-cpu-prof', 'delivery-processes', 'delivery', 'batch-size', 'delivery-concurrency', 'delivery-nice', 'repeat', 'warmup', 'fsync']);
  const hubCpuProf = values.get('hub-cpu-prof');
  return {
    alerts: positiveFlag(values, 'alerts', 1_000),
    concurrency: positiveFlag(values, 'concurrency', 16),
    rate: positiveFlag(values, 'rate', 100),
    seconds: positiveFlag(values, 'seconds', 10),
    subjects: positiveFlag(values, 'subjects', 200),
    out: values.get('out') ?? 'bench/results/alerts.json',
    deliveryProcesses: values.get('delivery-processes') === '0' ? 0 : positiveFlag(values, 'delivery-processes', 1),
    delivery: choiceFlag(values, 'delivery', DELIVERY_MODES, 'batched'),
    batchSize: positiveFlag(values, 'batch-size', 50),
    deliveryConcurrency: integerList(values.get('delivery-concurrency'), 'delivery-concurrency', 1, 1000),
    deliveryNice: integerList(values.get('delivery-nice'), 'delivery-nice', 0, 19),
    repeat: positiveFlag(values, 'repeat', 1),
    warmup: positiveFlag(values, 'warmup', 300),
    fsync: choiceFlag(values, 'fsync', ['always', 'everysec'], 'always'),
    ...(hubCpuProf !== undefined ? { hubCpuProf } : {}),
  };
}

/** `128,32` → [128, 32]; absent → [] (the hub's default). Repeats are kept: `128,512,128` interleaves. */
function integerList(raw: string | undefined, flag: string, min: number, max: number): number[] {
  if (raw === undefined) return [];
  const list = raw.split(',').map((v) => Number(v.trim()));
  if (list.some((n) => !Number.isInteger(n) || n < min || n > max)) throw new UsageError(`--${flag} takes integers ${min}-${max}, comma-separated (got ${raw})`);
  return list;
}
