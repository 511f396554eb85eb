/** Pairwise quality figures and timing helpers shared by the matching benchmark runs. */
import { performance } from 'node:perf_hooks';

export interface Quality {
  readonly precision: number;
  readonly recall: number;
  readonly f1: number;
}

export function quality(truePositives: number, predicted: number, actual: number): Quality {
  const precision = predicted === 0 ? 1 : truePositives / predicted;
  const recall = actual === 0 ? 1 : truePositives / actual;
  const f1 = precision + recall === 0 ? 0 : (2 * precision * recall) / (precision + recall);
  return { precision: round(precision), recall: round(recall), f1: round(f1) };
}

export function round(x: number, digits = 4): number {
  const factor = 10 ** digits;
  return Math.round(x * factor) / factor;
}

/**
 * Runs `work` `repeats` times after one warm-up run (so the JIT has compiled the hot
 * path) and returns the fastest run in milliseconds, with the last run's result. The
 * fastest run is the one least disturbed by other processes on a shared machine (as
 * Python's timeit advises); the baseline is timed the same way, so ratios stay fair.
 */
export function timed<T>(work: () => T, repeats = 5): { ms: number; result: T } {
  let result = work();
  let fastest = Infinity;
  for (let i = 0; i < repeats; i++) {
    const start = performance.now();
    result = work();
    fastest = Math.min(fastest, performance.now() - start);
  }
  return { ms: fastest, result };
}
