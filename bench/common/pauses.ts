/**
 * Where a latency tail comes from when the server runs in the bench's own process: how long
 * the event loop was held up (perf_hooks `monitorEventLoopDelay`) and how long garbage
 * collection paused it (`gc` performance entries), over one measured run. A p99 far above the
 * p50 with a large event-loop delay p99 means work on the loop (GC, a batch of background
 * work), not waiting on Redis.
 */
import { monitorEventLoopDelay, PerformanceObserver, type PerformanceEntry } from 'node:perf_hooks';

export interface PauseSummary {
  /** Event-loop delay over the run (ms): how late timers fired. */
  readonly eventLoopDelayP50Ms: number;
  readonly eventLoopDelayP99Ms: number;
  readonly eventLoopDelayMaxMs: number;
  /** Garbage collections during the run, their total and longest pause (ms). */
  readonly gcCount: number;
  readonly gcTotalMs: number;
  readonly gcMaxMs: number;
  /** Major (mark-sweep-compact) collections among them. */
  readonly gcMajorCount: number;
}

/** Starts watching; `stop()` ends it and summarises. */
export function watchPauses(): { stop(): PauseSummary } {
  const delay = monitorEventLoopDelay({ resolution: 1 });
  const gcs: PerformanceEntry[] = [];
  const observer = new PerformanceObserver((list) => gcs.push(...list.getEntries()));
  observer.observe({ entryTypes: ['gc'] });
  delay.enable();
  return {
    stop() {
      delay.disable();
      observer.disconnect();
      const ms = (ns: number) => Math.round((ns / 1e6) * 100) / 100;
      // NODE_PERFORMANCE_GC_MAJOR = 4 (perf_hooks constants): a full mark-sweep-compact.
      const major = gcs.filter((e) => (e as PerformanceEntry & { detail?: { kind?: number } }).detail?.kind === 4).length;
      const round = (x: number) => Math.round(x * 100) / 100;
      return {
        eventLoopDelayP50Ms: ms(delay.percentile(50)),
        eventLoopDelayP99Ms: ms(delay.percentile(99)),
        eventLoopDelayMaxMs: ms(delay.max),
        gcCount: gcs.length,
        gcTotalMs: round(gcs.reduce((sum, e) => sum + e.duration, 0)),
        gcMaxMs: round(gcs.reduce((max, e) => Math.max(max, e.duration), 0)),
        gcMajorCount: major,
      };
    },
  };
}
