/**
 * The periodic performance summary (SI-L4/L5): from two scrapes of a service's Prometheus
 * metrics, what happened in between — per service and exchange type (HTTP route, or queue for
 * background jobs): volume, p50 and p99 latency, failures. Pure: the sampler scrapes and stores.
 *
 * Percentiles come from histogram bucket deltas, interpolated linearly within the bucket
 * (Prometheus' histogram_quantile does the same); they are as fine as the buckets.
 */

/** One histogram series: cumulative bucket counts by upper bound, and the total count. */
export interface HistogramSeries {
  readonly buckets: ReadonlyMap<number, number>;
  readonly count: number;
}

/** Histograms of one scrape by series key (`http GET /fhir/Patient` …) and the failures counted per key. */
export interface Scrape {
  readonly series: ReadonlyMap<string, HistogramSeries>;
  readonly failures: ReadonlyMap<string, number>;
}

export interface PerformanceRow {
  readonly service: string;
  /** `http <METHOD> <route>` or `job <queue>`. */
  readonly exchange: string;
  readonly volume: number;
  readonly p50Ms: number | null;
  readonly p99Ms: number | null;
  readonly failures: number;
}

export interface PerformanceSummary {
  /** Start and end of the interval (ISO). */
  readonly from: string;
  readonly to: string;
  readonly rows: readonly PerformanceRow[];
  /** Services whose metrics could not be read this time. */
  readonly unreachable: readonly string[];
}

const LINE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

function labelsOf(text: string | undefined): Map<string, string> {
  const labels = new Map<string, string>();
  for (const m of (text ?? '').matchAll(LABEL)) labels.set(m[1]!, m[2]!.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c)));
  return labels;
}

/**
 * Reads the hub's request and job histograms out of Prometheus text: request latency by method
 * and route (failures: 5xx answers), job duration by queue (failures: attempts that failed).
 */
export function parseScrape(text: string): Scrape {
  const buckets = new Map<string, Map<number, number>>();
  const counts = new Map<string, number>();
  const failures = new Map<string, number>();
  const add = (map: Map<string, number>, key: string, v: number) => map.set(key, (map.get(key) ?? 0) + v);
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const m = LINE.exec(line);
    if (!m) continue;
    const [, name, rawLabels, rawValue] = m;
    const value = Number(rawValue);
    if (!Number.isFinite(value) && rawValue !== '+Inf') continue;
    const labels = labelsOf(rawLabels);
    let key: string;
    let failed: boolean;
    if (name!.startsWith('infoshare_http_request_duration_seconds')) {
      if (labels.get('route') === 'unmatched') continue;
      key = `http ${labels.get('method') ?? '?'} ${labels.get('route') ?? '?'}`;
      failed = Number(labels.get('status') ?? 0) >= 500;
    } else if (name!.startsWith('infoshare_job_duration_seconds')) {
      key = `job ${labels.get('queue') ?? '?'}`;
      failed = labels.get('outcome') === 'failed';
    } else continue;
    if (name!.endsWith('_bucket')) {
      const le = labels.get('le') === '+Inf' ? Infinity : Number(labels.get('le'));
      const series = buckets.get(key) ?? new Map<number, number>();
      series.set(le, (series.get(le) ?? 0) + value);
      buckets.set(key, series);
    } else if (name!.endsWith('_count')) {
      add(counts, key, value);
      if (failed) add(failures, key, value);
    }
  }
  const series = new Map<string, HistogramSeries>();
  for (const [key, b] of buckets) series.set(key, { buckets: b, count: counts.get(key) ?? 0 });
  return { series, failures };
}

/** The interval between two scrapes of one service (counters that went down mean a restart: the later scrape is the delta). */
export function summarise(service: string, before: Scrape | undefined, after: Scrape): PerformanceRow[] {
  const rows: PerformanceRow[] = [];
  for (const [key, now] of after.series) {
    const then = before?.series.get(key);
    const restarted = then !== undefined && now.count < then.count;
    const base = restarted ? undefined : then;
    const volume = now.count - (base?.count ?? 0);
    if (volume <= 0) continue;
    const delta = new Map<number, number>();
    for (const [le, c] of now.buckets) delta.set(le, c - (base?.buckets.get(le) ?? 0));
    const failures = (after.failures.get(key) ?? 0) - (restarted ? 0 : (before?.failures.get(key) ?? 0));
    rows.push({ service, exchange: key, volume, p50Ms: quantileMs(delta, volume, 0.5), p99Ms: quantileMs(delta, volume, 0.99), failures: Math.max(0, failures) });
  }
  return rows.sort((a, b) => b.volume - a.volume || a.exchange.localeCompare(b.exchange));
}

/** The q-quantile in ms from cumulative bucket counts; null when there are no observations. */
export function quantileMs(cumulative: ReadonlyMap<number, number>, total: number, q: number): number | null {
  if (total <= 0) return null;
  const bounds = [...cumulative.keys()].sort((a, b) => a - b);
  const rank = q * total;
  let lowerBound = 0;
  let lowerCount = 0;
  for (const le of bounds) {
    const count = cumulative.get(le) ?? 0;
    if (count >= rank) {
      // Past the last finite bucket nothing bounds it: report that bucket's lower edge.
      if (!Number.isFinite(le)) return round(lowerBound * 1000);
      const within = count - lowerCount;
      const fraction = within > 0 ? (rank - lowerCount) / within : 1;
      return round((lowerBound + (le - lowerBound) * fraction) * 1000);
    }
    lowerBound = le;
    lowerCount = count;
  }
  return round(lowerBound * 1000);
}

function round(ms: number): number {
  return Math.round(ms * 100) / 100;
}

/** The trend of one exchange over summaries (oldest first): its p99 and volume per interval, for the page. */
export function trendOf(summaries: readonly PerformanceSummary[], service: string, exchange: string): { to: string; volume: number; p99Ms: number | null }[] {
  return summaries.map((s) => {
    const row = s.rows.find((r) => r.service === service && r.exchange === exchange);
    return { to: s.to, volume: row?.volume ?? 0, p99Ms: row?.p99Ms ?? null };
  });
}
