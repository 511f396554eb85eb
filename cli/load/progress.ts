/**
 * Progress of a load on stderr: a line per Bundle, and on a terminal one line
 * rewritten in place (`\r`) at each poll; plus how long to wait between polls.
 */
import { ratePerSecond } from './summary.js';

export interface ProgressState {
  /** Records registered so far: earlier Bundles whole plus the current one's progress. */
  readonly registered: number;
  readonly total: number;
  /** 0-based index of the current Bundle. */
  readonly bundle: number;
  readonly bundles: number;
  readonly elapsedMs: number;
}

/** The `<n>` of the status URL's `X-Progress: <n> of <total> records registered`. */
export function progressOf(header: string | undefined): number | undefined {
  const m = /^(\d+) of \d+ records registered$/.exec(header ?? '');
  return m ? Number(m[1]) : undefined;
}

/** The updating terminal line (without the `\r`). */
export function progressLine(p: ProgressState): string {
  const percent = p.total ? Math.floor((p.registered * 100) / p.total) : 0;
  return `Registering: ${p.registered} of ${p.total} records (${percent} %), Bundle ${p.bundle + 1} of ${p.bundles}, ${ratePerSecond(p.registered, p.elapsedMs)} records/s`;
}

/** `records 11–20` (1-based, as a person counts records in a file), or `record 37`. */
export function recordRange(first: number, count: number): string {
  return count === 1 ? `record ${first + 1}` : `records ${first + 1}–${first + count}`;
}

/** The line printed when a Bundle is registered. */
export function bundleDoneLine(p: ProgressState, first: number, size: number, counts: { created: number; updated: number; unchanged: number }): string {
  return (
    `Bundle ${p.bundle + 1} of ${p.bundles} (${recordRange(first, size)}) registered: ${counts.created} created, ${counts.updated} updated` +
    `${counts.unchanged ? `, ${counts.unchanged} unchanged` : ''}; ` +
    `${p.registered} of ${p.total} so far, ${ratePerSecond(p.registered, p.elapsedMs)} records/s`
  );
}

/** Quick first polls (a small Bundle is done in a moment), then the server's Retry-After, but never less often than this. */
export const MAX_POLL_INTERVAL_MS = 1000;
const FIRST_POLLS_MS = [100, 250, 500];

/** How long to wait before poll number `attempt` (0-based), given the last `Retry-After` (seconds or an HTTP date). */
export function pollDelayMs(attempt: number, retryAfter: string | undefined, now = Date.now()): number {
  const backoff = FIRST_POLLS_MS[attempt] ?? MAX_POLL_INTERVAL_MS;
  const asked = retryAfterMs(retryAfter, now);
  return Math.max(0, Math.min(backoff, asked ?? MAX_POLL_INTERVAL_MS, MAX_POLL_INTERVAL_MS));
}

function retryAfterMs(value: string | undefined, now: number): number | undefined {
  if (value === undefined || value.trim() === '') return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : at - now;
}
