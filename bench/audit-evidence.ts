/**
 * The evidence side of `npm run bench:audit` (bench/audit.ts calls `measureEvidence` after its
 * verification phase, on the entries it appended): how long the maturity evidence report and
 * the auditor page's overview take with the log at that size. The indexes are brought up to
 * date first (timed apart: the audit service keeps them up as it appends, so a report never
 * waits for them).
 */
import type { Redis } from 'ioredis';
import { overviewFragment, pageShell } from '../services/audit/domain/page.js';
import { DocumentaryStore } from '../services/audit/documentary.js';
import type { LogStatusSource } from '../services/audit/evidence-context.js';
import { EvidenceReporter, type LogFacts } from '../services/audit/evidence.js';
import { SearchIndex } from '../services/audit/search-index.js';
import type { KeySpace } from '../shared/redis/connection.js';

export interface EvidenceFigures {
  /** Entries indexed per second while catching the search indexes up (0 when already up to date). */
  readonly indexEntriesPerSecond: number;
  /** Seconds to compute the whole report (45 cells, counts, dates, samples with inclusion proofs). */
  readonly reportSecondsAt1M: number;
  /** Milliseconds for what the page's first view needs from the server: the shell, then the overview (report + log status, rendered). */
  readonly pageLoadMsAt1M: number;
  /** Entries in the log when measured (the "1M" of the key names, when the bench ran at 1M). */
  readonly entries: number;
}

export async function measureEvidence(redis: Redis, keys: KeySpace, log?: LogFacts & Partial<LogStatusSource>): Promise<EvidenceFigures> {
  const index = new SearchIndex(redis, keys);
  let started = performance.now();
  const indexed = await index.catchUp();
  const indexSeconds = (performance.now() - started) / 1000;
  const reporter = new EvidenceReporter(redis, index, log, new DocumentaryStore(redis, keys));

  started = performance.now();
  await reporter.report();
  const reportSeconds = (performance.now() - started) / 1000;

  started = performance.now();
  pageShell({ scriptPath: '/page/app.js', tokenHint: '' });
  const [report, status, indexedThrough] = await Promise.all([reporter.report(), log?.logStatus?.() ?? Promise.resolve({}), index.indexedThrough()]);
  overviewFragment(report, { ...status, ...(indexedThrough ? { indexedThrough } : {}) });
  const pageMs = performance.now() - started;

  return {
    indexEntriesPerSecond: indexed > 0 && indexSeconds > 0 ? Math.round(indexed / indexSeconds) : 0,
    reportSecondsAt1M: Math.round(reportSeconds * 1000) / 1000,
    pageLoadMsAt1M: Math.round(pageMs * 10) / 10,
    entries: await index.countAll(),
  };
}
