/** Latency samples and their percentiles (nearest-rank), in milliseconds. */
import { performance } from 'node:perf_hooks';

export interface LatencySummary {
  readonly n: number;
  readonly p50Ms: number;
  readonly p95Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
  readonly meanMs: number;
}

export function summarise(samplesMs: readonly number[]): LatencySummary {
  const sorted = [...samplesMs].sort((a, b) => a - b);
  const at = (p: number) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))] ?? 0;
  const mean = sorted.reduce((s, x) => s + x, 0) / Math.max(1, sorted.length);
  return { n: sorted.length, p50Ms: ms(at(0.5)), p95Ms: ms(at(0.95)), p99Ms: ms(at(0.99)), maxMs: ms(sorted.at(-1) ?? 0), meanMs: ms(mean) };
}

/**
 * Runs `once` one call after another: `warmup` untimed calls (indices 0..warmup-1, so
 * the JIT and connections are warm), then `n` timed ones (indices warmup..warmup+n-1).
 */
export async function timeSequential(n: number, once: (i: number) => Promise<void>, warmup = Math.min(50, n)): Promise<LatencySummary> {
  for (let i = 0; i < warmup; i++) await once(i);
  const samples: number[] = [];
  for (let i = 0; i < n; i++) {
    const start = performance.now();
    await once(warmup + i);
    samples.push(performance.now() - start);
  }
  return summarise(samples);
}

function ms(x: number): number {
  return Math.round(x * 1000) / 1000;
}
