/**
 * Where a latency tail comes from when the server runs in the bench's own process: how long
 * the event loop was held up (perf_hooks `monitorEventLoopDelay`) and how long garbage
 * collection paused it (`gc` performance entries), over one measured run. A p99 far above the
 * p50 with a large event-loop delay p99 means work on the loop (GC, a batch of background
 * work), not waiting on Redis.
 */
import { monitorEventLoopDelay, PerformanceObserver, type IntervalHistogram, type PerformanceEntry } from 'node:perf_hooks';
import v8 from 'node:v8';

export interface PauseSummary {
  /** Event-loop delay over the run (ms): how late timers fired (no max: resuming a paused histogram counts the pause). */
  readonly eventLoopDelayP50Ms: number;
  readonly eventLoopDelayP99Ms: number;
  /** Garbage collections during the run, their total and longest pause (ms). */
  readonly gcCount: number;
  readonly gcTotalMs: number;
  readonly gcMaxMs: number;
  /** Major (mark-sweep-compact) collections among them. */
  readonly gcMajorCount: number;
  /**
   * Bytes allocated on the JS heap during the run (MB): what the heap grew by plus what each
   * collection freed (v8.GCProfiler's before/after sizes) — the garbage a run makes, whatever the load.
   */
  readonly allocatedMb: number;
}

function summaryOf(delay: IntervalHistogram, gcs: readonly PerformanceEntry[], allocatedBytes: number): PauseSummary {
  const ms = (ns: number) => Math.round((ns / 1e6) * 100) / 100;
  const round = (x: number) => Math.round(x * 100) / 100;
  // NODE_PERFORMANCE_GC_MAJOR = 4 (perf_hooks constants): a full mark-sweep-compact.
  const major = gcs.filter((e) => (e as PerformanceEntry & { detail?: { kind?: number } }).detail?.kind === 4).length;
  const recorded = delay.count > 0;
  return {
    eventLoopDelayP50Ms: recorded ? ms(delay.percentile(50)) : 0,
    eventLoopDelayP99Ms: recorded ? ms(delay.percentile(99)) : 0,
    gcCount: gcs.length,
    gcTotalMs: round(gcs.reduce((sum, e) => sum + e.duration, 0)),
    gcMaxMs: round(gcs.reduce((max, e) => Math.max(max, e.duration), 0)),
    gcMajorCount: major,
    allocatedMb: round(allocatedBytes / 1e6),
  };
}

/**
 * Watches a measurement taken in slices (interleaved with another's): records only between
 * `resume()` and `pause()`, summarised over every slice by `finish()`.
 */
export class PauseMeter {
  readonly #delay = monitorEventLoopDelay({ resolution: 1 });
  readonly #gcs: PerformanceEntry[] = [];
  #active = false;
  #allocatedBytes = 0;
  #heapAtResume = 0;
  #gcProfiler: v8.GCProfiler | undefined;
  readonly #observer = new PerformanceObserver((list) => {
    if (this.#active) this.#gcs.push(...list.getEntries());
  });

  constructor() {
    this.#observer.observe({ entryTypes: ['gc'] });
  }

  resume(): void {
    this.#active = true;
    this.#delay.enable();
    this.#gcProfiler = new v8.GCProfiler();
    this.#gcProfiler.start();
    this.#heapAtResume = v8.getHeapStatistics().used_heap_size;
  }

  pause(): void {
    if (!this.#active) return;
    this.#active = false;
    this.#delay.disable();
    const heapAtPause = v8.getHeapStatistics().used_heap_size;
    const collections = this.#gcProfiler?.stop()?.statistics ?? [];
    this.#gcProfiler = undefined;
    const freed = collections.reduce((sum, gc) => sum + gc.beforeGC.heapStatistics.usedHeapSize - gc.afterGC.heapStatistics.usedHeapSize, 0);
    this.#allocatedBytes += heapAtPause - this.#heapAtResume + freed;
  }

  /** The summary over every slice so far; stops observing. */
  finish(): PauseSummary {
    this.pause();
    this.#observer.disconnect();
    return summaryOf(this.#delay, this.#gcs, this.#allocatedBytes);
  }
}
