/**
 * The performance evidence (SI-L4/L5): every `intervalMs` the audit service scrapes each hub
 * service's `/metrics`, summarises the interval since the previous scrape
 * (`domain/performance.ts`: volume, p50, p99, failures per service and route or queue), keeps
 * the summary in Redis and records it in the audit log as a scheduled exchange claiming SI-L4
 * (performance metrics captured, monitoring in place). The page shows the trend.
 *
 * Several audit replicas may run: the previous scrape of each service is kept in Redis (any
 * replica takes the delta from it) and a short lock lets one replica summarise per interval.
 */
import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { AuditSink } from '../../shared/audit/exchange.js';
import type { ServiceName } from '../../shared/config.js';
import type { Logger } from '../../shared/log.js';
import type { KeySpace } from '../../shared/redis/connection.js';
import { parseScrape, summarise, type HistogramSeries, type PerformanceRow, type PerformanceSummary, type Scrape } from './domain/performance.js';

const TAG = 'audit';
/** A week of one-minute summaries. */
const KEPT = 10_080;
const SCRAPE_TIMEOUT_MS = 3000;

/** SI-L4: performance metrics captured; monitoring and auditing in place. */
export const PERFORMANCE_CAPTURED_CRITERIA = ['SI-L4'] as const;

export interface PerformanceSamplerOptions {
  /** Services to scrape and where (`<url>/metrics`). */
  readonly targets: ReadonlyArray<{ service: ServiceName; url: string }>;
  readonly intervalMs: number;
  readonly audit: AuditSink;
  readonly log: Logger;
  readonly fetch?: typeof fetch;
  readonly now?: () => Date;
}

export class PerformanceStore {
  constructor(
    private readonly redis: Redis,
    private readonly keys: KeySpace,
  ) {}

  get summaries(): string {
    return this.keys.key(TAG, 'perf', 'summaries');
  }
  lastScrape(service: string): string {
    return this.keys.key(TAG, 'perf', 'last', service);
  }
  get lock(): string {
    return this.keys.key(TAG, 'perf', 'lock');
  }

  /** The latest summaries, oldest first. */
  async latest(n = 60): Promise<PerformanceSummary[]> {
    const raw = await this.redis.lrange(this.summaries, 0, Math.max(0, n - 1));
    return raw.map((r) => JSON.parse(r) as PerformanceSummary).reverse();
  }

  async add(summary: PerformanceSummary): Promise<void> {
    await this.redis.multi().lpush(this.summaries, JSON.stringify(summary)).ltrim(this.summaries, 0, KEPT - 1).exec();
  }

  async previous(service: string): Promise<{ at: string; scrape: Scrape } | undefined> {
    const raw = await this.redis.get(this.lastScrape(service));
    if (!raw) return undefined;
    const stored = JSON.parse(raw) as { at: string; series: [string, { buckets: [number | null, number][]; count: number }][]; failures: [string, number][] };
    const series = new Map<string, HistogramSeries>(
      stored.series.map(([k, s]) => [k, { count: s.count, buckets: new Map(s.buckets.map(([le, c]) => [le === null ? Infinity : le, c])) }]),
    );
    return { at: stored.at, scrape: { series, failures: new Map(stored.failures) } };
  }

  async keep(service: string, at: string, scrape: Scrape): Promise<void> {
    // JSON has no Infinity: the +Inf bucket is stored as null.
    const series = [...scrape.series].map(([k, s]) => [k, { count: s.count, buckets: [...s.buckets].map(([le, c]) => [Number.isFinite(le) ? le : null, c]) }]);
    await this.redis.set(this.lastScrape(service), JSON.stringify({ at, series, failures: [...scrape.failures] }));
  }

  /** True for the one caller that may summarise this interval. */
  async claimInterval(intervalMs: number): Promise<boolean> {
    return (await this.redis.set(this.lock, randomUUID(), 'PX', Math.max(1, intervalMs - 100), 'NX')) === 'OK';
  }
}

export class PerformanceSampler {
  private readonly fetcher: typeof fetch;
  private readonly now: () => Date;
  /** The sample in progress (scheduled or first): samples of this process run one after another. */
  private running: Promise<unknown> = Promise.resolve();

  constructor(
    readonly store: PerformanceStore,
    private readonly options: PerformanceSamplerOptions,
  ) {
    this.fetcher = options.fetch ?? fetch;
    this.now = options.now ?? (() => new Date());
  }

  /** Scrapes every target once, stores and audits the summary; returns it (undefined when another replica had this interval). */
  async sampleOnce(options: { force?: boolean } = {}): Promise<PerformanceSummary | undefined> {
    if (!options.force && !(await this.store.claimInterval(this.options.intervalMs))) return undefined;
    const to = this.now().toISOString();
    const rows: PerformanceRow[] = [];
    const unreachable: string[] = [];
    let from = to;
    for (const { service, url } of this.options.targets) {
      const scrape = await this.scrape(url);
      if (!scrape) {
        unreachable.push(service);
        continue;
      }
      const before = await this.store.previous(service);
      if (before && before.at < from) from = before.at;
      rows.push(...summarise(service, before?.scrape, scrape));
      await this.store.keep(service, to, scrape);
    }
    const summary: PerformanceSummary = { from, to, rows, unreachable };
    await this.store.add(summary);
    const volume = rows.reduce((n, r) => n + r.volume, 0);
    const failures = rows.reduce((n, r) => n + r.failures, 0);
    await this.options.audit.record({
      requestId: `performance-${randomUUID()}`,
      service: 'audit',
      type: 'rest',
      subtype: 'performance-summary',
      action: 'C',
      outcome: '0',
      outcomeDescription: `Performance summary ${from} – ${to}: ${volume} exchanges, ${failures} failures, ${rows.length} exchange types${unreachable.length ? `; unreachable: ${unreachable.join(', ')}` : ''}`,
      agent: {},
      entities: [],
      // Evidence only when metrics were captured: a summary with every service unreachable shows no monitoring.
      criteria: unreachable.length < this.options.targets.length ? [...PERFORMANCE_CAPTURED_CRITERIA] : [],
      trigger: { kind: 'schedule', name: 'performance summary' },
      recorded: to,
    });
    return summary;
  }

  /**
   * The first summary at once when none has been taken yet. The timer takes the first at the end of
   * the first interval (60 s by default), so an auditor asking for the analysis on a hub just started
   * waited up to a minute for anything at all (`infoshare replay`'s SI-L5 step waited 49-75 s); this
   * one covers the services' life so far. It claims the interval as a scheduled one does, so neither
   * another replica nor the next tick summarises twice within one interval, and it runs after any
   * sample in progress here (two requests at once take one summary).
   */
  async firstSummary(): Promise<void> {
    const first = this.running.then(async () => {
      if ((await this.store.latest(1)).length === 0) await this.sampleOnce();
    });
    this.running = first.catch((err: unknown) => this.options.log.warn({ err }, 'first performance summary failed; the interval will retry'));
    await this.running;
  }

  /** Samples every interval until stopped; returns the stop function. */
  start(): () => Promise<void> {
    const tick = () => {
      this.running = this.running.then(() => this.sampleOnce()).catch((err: unknown) => this.options.log.warn({ err }, 'performance summary failed; next interval will retry'));
    };
    const timer = setInterval(tick, this.options.intervalMs);
    timer.unref();
    return async () => {
      clearInterval(timer);
      await this.running;
    };
  }

  private async scrape(url: string): Promise<Scrape | undefined> {
    try {
      const res = await this.fetcher(`${url}/metrics`, { signal: AbortSignal.timeout(SCRAPE_TIMEOUT_MS) });
      if (!res.ok) return undefined;
      return parseScrape(await res.text());
    } catch {
      return undefined;
    }
  }
}
