/**
 * The audit service's search indexes over the audit stream, and the reads that use them.
 *
 * Why indexes: an auditor's search (`GET /fhir/AuditEvent`), a person's "who accessed my
 * record" and the maturity report must answer in milliseconds with a million entries in the
 * log, and exact totals; scanning the stream per request would not. So every entry is
 * indexed once, after it lands in the stream, as members of sorted sets (one per search term,
 * `domain/index-terms.ts`) scored by the time the exchange was recorded:
 *
 *   <prefix>:{audit}:ix:all              every entry
 *   <prefix>:{audit}:ix:t:<term>         entries with that term (agent, subject, outcome, type, …)
 *   <prefix>:{audit}:ix:ev:<code>        entries that COUNT as evidence for a criterion
 *   <prefix>:{audit}:ix:ev:<p>:<code>    … of an agency of partnership <p>
 *   <prefix>:{audit}:ix:cursor           the last stream id indexed
 *
 * Members are stream ids (= AuditEvent ids). A count is ZCOUNT, the first and last dates are
 * the ends of a set, a page is one ZRANGE: the report reads ~5 small replies per criterion
 * whatever the size of the log. Everything is in the `{audit}` slot (the stream's), so one
 * MULTI indexes a batch and the cursor together on Redis Cluster too.
 *
 * Idempotent: ZADD of a member already there changes nothing, so indexing an entry twice (a
 * crash between a batch and its cursor, two replicas catching up) is harmless. The cursor
 * only saves work.
 */
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { AuditEvent } from 'fhir/r4.js';
import type { Redis } from 'ioredis';
import { auditStreamKey } from '../../shared/audit/audit-stream.js';
import { eventOfEntry, parseAuditEntry, type AuditEntry } from '../../shared/audit/audit-entry.js';
import type { Logger } from '../../shared/log.js';
import type { CriterionCode } from '../../shared/maturity/catalogue.js';
import type { KeySpace } from '../../shared/redis/connection.js';
import { badRequest } from '../../shared/fhir/outcome.js';
import { CURSOR_PARAM, scoreRange, type AuditSearchPlan } from './domain/audit-search.js';
import { term, termsOfEntry } from './domain/index-terms.js';

const TAG = 'audit';

export class SearchIndexKeys {
  constructor(private readonly space: KeySpace) {}
  get stream(): string {
    return auditStreamKey(this.space);
  }
  get all(): string {
    return this.space.key(TAG, 'ix', 'all');
  }
  get cursor(): string {
    return this.space.key(TAG, 'ix', 'cursor');
  }
  term(t: string): string {
    return this.space.key(TAG, 'ix', 't', t);
  }
  evidence(code: string, partnership?: string): string {
    return partnership ? this.space.key(TAG, 'ix', 'ev', partnership, code) : this.space.key(TAG, 'ix', 'ev', code);
  }
  /** A short-lived working set (a query's intersection, an export's snapshot). */
  scratch(): string {
    return this.space.key(TAG, 'ix', 'tmp', randomUUID());
  }
}

/** An indexed entry and when it was recorded (epoch ms). */
export interface IndexedEntry {
  readonly id: string;
  readonly at: number;
}

/** Statistics of one evidence set within a time range: what the report shows per criterion. */
export interface SetStats {
  readonly count: number;
  /** The first entries, oldest first. */
  readonly oldest: readonly IndexedEntry[];
  /** The latest entries, newest first. */
  readonly newest: readonly IndexedEntry[];
}

export interface SearchResult {
  readonly total?: number;
  /** Entry ids of the page, in the search's order (newest first unless `_sort=date`). */
  readonly ids: readonly string[];
  /** Whether the search has entries after the page (older) and before it (newer), for the paging links. */
  readonly more: { readonly after: boolean; readonly before: boolean };
}

/**
 * A page next to an entry (`_cursor`), by the entry's rank in the result set: the rank is
 * looked up when the page is read, so entries added since (anywhere) never shift the page.
 * KEYS[1] the result set; ARGV: anchor id, 'after' | 'before', count, min score, max score
 * ('-inf' / '+inf' when open), 'newest' | 'oldest' (which end the search's order starts at).
 * Reads one entry more than the page to tell whether there are more that way. Returns false
 * when the anchor is not in the set, else { more, ids… }.
 */
const PAGE_NEXT_TO_LUA = `
local newest = ARGV[6] == 'newest'
local rank
if newest then rank = redis.call('ZREVRANK', KEYS[1], ARGV[1]) else rank = redis.call('ZRANK', KEYS[1], ARGV[1]) end
if not rank then return false end
local count = tonumber(ARGV[3])
local function bound(text) if text == '-inf' then return -math.huge elseif text == '+inf' then return math.huge end return tonumber(text) end
local min, max = bound(ARGV[4]), bound(ARGV[5])
local first, last
if ARGV[2] == 'after' then first, last = rank + 1, rank + count + 1 else first, last = math.max(0, rank - count - 1), rank - 1 end
local page = { 0 }
if last < first then return page end
local rows
if newest then rows = redis.call('ZRANGE', KEYS[1], first, last, 'REV', 'WITHSCORES') else rows = redis.call('ZRANGE', KEYS[1], first, last, 'WITHSCORES') end
for i = 1, #rows, 2 do
  local score = tonumber(rows[i + 1])
  if score >= min and score <= max then page[#page + 1] = rows[i] end
end
if #page - 1 > count then
  page[1] = 1
  if ARGV[2] == 'after' then table.remove(page) else table.remove(page, 2) end
end
return page
`;

const READ_BATCH = 500;

export class SearchIndex {
  readonly keys: SearchIndexKeys;

  constructor(
    private readonly redis: Redis,
    space: KeySpace,
  ) {
    this.keys = new SearchIndexKeys(space);
  }

  // ---------------------------------------------------------------- writing

  /** Indexes stream entries (any order, any repeats) and moves the cursor to the last. */
  async indexBatch(entries: readonly { id: string; entry: AuditEntry }[]): Promise<void> {
    if (entries.length === 0) return;
    const multi = this.redis.multi();
    for (const { id, entry } of entries) {
      let event: AuditEvent;
      try {
        event = eventOfEntry(entry);
      } catch {
        // A corrupt entry is the verifier's finding (auditlog); it is still listed by date.
        multi.zadd(this.keys.all, Date.parse(entry.recorded) || 0, id);
        continue;
      }
      const { score, terms, evidence, partnership } = termsOfEntry(entry, event);
      multi.zadd(this.keys.all, score, id);
      for (const t of terms) multi.zadd(this.keys.term(t), score, id);
      for (const code of evidence) {
        multi.zadd(this.keys.evidence(code), score, id);
        if (partnership) multi.zadd(this.keys.evidence(code, partnership), score, id);
      }
    }
    multi.set(this.keys.cursor, entries[entries.length - 1]!.id);
    const results = await multi.exec();
    const failed = results?.find(([err]) => err);
    if (!results || failed) throw failed?.[0] ?? new Error('index batch was not applied');
  }

  /** Indexes everything in the stream after the cursor; returns how many entries it indexed. */
  async catchUp(maxEntries = Infinity): Promise<number> {
    let done = 0;
    let cursor = (await this.redis.get(this.keys.cursor)) ?? undefined;
    while (done < maxEntries) {
      const rows = await this.redis.xrange(this.keys.stream, cursor ? `(${cursor}` : '-', '+', 'COUNT', READ_BATCH);
      if (rows.length === 0) break;
      const batch = rows.flatMap(([id, flat]) => {
        try {
          return [{ id, entry: parseAuditEntry(flat) }];
        } catch {
          return [];
        }
      });
      await this.indexBatch(batch.length ? batch : []);
      cursor = rows[rows.length - 1]![0];
      if (batch.length === 0) await this.redis.set(this.keys.cursor, cursor);
      done += rows.length;
    }
    return done;
  }

  /**
   * Keeps the indexes up with the stream: catches up every `intervalMs` (and at once).
   * Returns the stop function, which waits for a pass in progress.
   */
  startIndexing(options: { intervalMs?: number; log?: Logger } = {}): () => Promise<void> {
    let stopped = false;
    const loop = (async () => {
      while (!stopped) {
        try {
          const n = await this.catchUp(50_000);
          if (n > 0) continue;
        } catch (err) {
          if (stopped) break;
          options.log?.warn({ err }, 'audit search indexing failed; will retry');
        }
        await sleep(options.intervalMs ?? 200);
      }
    })();
    return async () => {
      stopped = true;
      await loop;
    };
  }

  /** The last stream id indexed (undefined before the first). */
  async indexedThrough(): Promise<string | undefined> {
    return (await this.redis.get(this.keys.cursor)) ?? undefined;
  }

  // ---------------------------------------------------------------- reading

  /**
   * One page of a search, newest first (oldest first for `_sort=date`), with the exact total. `subjects` are the resolved
   * `patient` references (undefined when the search has no `patient`; empty when it named
   * nobody the hub knows: then nothing matches).
   */
  async search(plan: AuditSearchPlan, subjects?: readonly string[]): Promise<SearchResult> {
    const groups = this.keyGroups(plan, subjects);
    if (groups === undefined) return { ...(plan.total ? { total: 0 } : {}), ids: [], more: { after: false, before: false } };
    const [min, max] = scoreRange(plan);
    const multi = this.redis.multi();
    const scratch: string[] = [];
    const base = this.stageBase(multi, groups, scratch);
    if (plan.total) multi.zcount(base, min, max);
    const { cursor } = plan;
    if (plan.count > 0) {
      // One entry more than the page tells whether there is a next page, with or without a total.
      // `_sort=date` (reversed): the same set read from the other end.
      if (cursor) multi.eval(PAGE_NEXT_TO_LUA, 1, base, cursor.id, cursor.direction, plan.count, min, max, plan.reversed ? 'oldest' : 'newest');
      else if (plan.reversed) multi.zrange(base, min, max, 'BYSCORE', 'LIMIT', plan.offset, plan.count + 1);
      else multi.zrange(base, max, min, 'BYSCORE', 'REV', 'LIMIT', plan.offset, plan.count + 1);
    }
    if (scratch.length) multi.del(...scratch);
    const results = (await multi.exec()) ?? [];
    for (const [err] of results) if (err) throw err;
    const replies = results.slice(groupStagingCount(groups)).map(([, reply]) => reply);
    const total = plan.total ? Number(replies.shift()) : undefined;
    const withTotal = total !== undefined ? { total } : {};
    if (plan.count === 0) return { ...withTotal, ids: [], more: { after: false, before: false } };
    if (!cursor) {
      const ids = replies.shift() as string[];
      return { ...withTotal, ids: ids.slice(0, plan.count), more: { after: ids.length > plan.count, before: plan.offset > 0 } };
    }
    const page = replies.shift() as [number, ...string[]] | null;
    if (page === null) throw badRequest(`'${CURSOR_PARAM}': AuditEvent ${cursor.id} is not a result of this search — follow the links of the Bundle it came from`, CURSOR_PARAM);
    const [more, ...ids] = page;
    const moreThatWay = more === 1;
    return { ...withTotal, ids, more: cursor.direction === 'after' ? { after: moreThatWay, before: true } : { after: true, before: moreThatWay } };
  }

  /**
   * Every matching entry id, oldest first, in batches: a snapshot of the result is taken
   * once (a scratch set in Redis, expiring if the reader goes away) and read by rank, so an
   * export of any size holds one batch in memory.
   */
  async *exportIds(plan: AuditSearchPlan, subjects: readonly string[] | undefined, batch = 1000): AsyncGenerator<string[]> {
    const groups = this.keyGroups(plan, subjects);
    if (groups === undefined) return;
    const [min, max] = scoreRange(plan);
    const snapshot = this.keys.scratch();
    const multi = this.redis.multi();
    const scratch: string[] = [];
    const base = this.stageBase(multi, groups, scratch);
    multi.zrangestore(snapshot, base, min, max, 'BYSCORE');
    multi.expire(snapshot, 900);
    if (scratch.length) multi.del(...scratch);
    const results = (await multi.exec()) ?? [];
    for (const [err] of results) if (err) throw err;
    try {
      for (let start = 0; ; start += batch) {
        const [ids] = await Promise.all([this.redis.zrange(snapshot, String(start), String(start + batch - 1)), this.redis.expire(snapshot, 900)]);
        if (ids.length === 0) return;
        yield ids;
        if (ids.length < batch) return;
      }
    } finally {
      await this.redis.del(snapshot).catch(() => undefined);
    }
  }

  /** The stored AuditEvents of these ids, in the same order (an id not in the stream is left out). */
  async events(ids: readonly string[]): Promise<AuditEvent[]> {
    if (ids.length === 0) return [];
    const pipeline = this.redis.pipeline();
    for (const id of ids) pipeline.xrange(this.keys.stream, id, id);
    const results = (await pipeline.exec()) ?? [];
    return results.flatMap(([err, rows], i): AuditEvent[] => {
      const row = !err ? (rows as [string, string[]][])[0] : undefined;
      if (!row) return [];
      try {
        return [{ ...eventOfEntry(parseAuditEntry(row[1])), id: ids[i]! }];
      } catch {
        return [];
      }
    });
  }

  /**
   * Per criterion within a time range (and partnership): the count of its evidence, its
   * `oldest` entries (the first ones, up to `oldest`) and its `newest` (latest first, up to
   * `newest`), each with the time it was recorded.
   */
  async evidenceStats(
    codes: readonly CriterionCode[],
    range: { from?: number; to?: number; partnership?: string } = {},
    limits: { oldest?: number; newest?: number } = {},
  ): Promise<Map<CriterionCode, SetStats>> {
    const [min, max] = scoreRange({ from: range.from ?? -Infinity, to: range.to ?? Infinity });
    const oldest = Math.max(1, limits.oldest ?? 3);
    const newest = Math.max(1, limits.newest ?? 1);
    const pipeline = this.redis.pipeline();
    for (const code of codes) {
      const key = this.keys.evidence(code, range.partnership);
      pipeline.zcount(key, min, max);
      pipeline.zrangebyscore(key, min, max, 'WITHSCORES', 'LIMIT', 0, oldest);
      pipeline.zrevrangebyscore(key, max, min, 'WITHSCORES', 'LIMIT', 0, newest);
    }
    const results = (await pipeline.exec()) ?? [];
    for (const [err] of results) if (err) throw err;
    const pairs = (flat: string[]) => flat.flatMap((v, j) => (j % 2 === 0 ? [{ id: v, at: Number(flat[j + 1]) }] : []));
    const stats = new Map<CriterionCode, SetStats>();
    codes.forEach((code, i) => {
      stats.set(code, {
        count: Number(results[i * 3]?.[1] ?? 0),
        oldest: pairs(results[i * 3 + 1]?.[1] as string[]),
        newest: pairs(results[i * 3 + 2]?.[1] as string[]),
      });
    });
    return stats;
  }

  /** The number of entries indexed in a time range (of agencies of one partnership, when given). */
  async countAll(range: { from?: number; to?: number; partnership?: string } = {}): Promise<number> {
    const [min, max] = scoreRange({ from: range.from ?? -Infinity, to: range.to ?? Infinity });
    return this.redis.zcount(range.partnership ? this.keys.term(term.partnership(range.partnership)) : this.keys.all, min, max);
  }

  /** Sets to intersect (each a union of keys); undefined when the query can match nothing. */
  private keyGroups(plan: AuditSearchPlan, subjects: readonly string[] | undefined): string[][] | undefined {
    const groups = plan.filters.map((f) => f.terms.map((t) => this.keys.term(t)));
    if (plan.patients.length > 0) {
      if (!subjects || subjects.length === 0) return undefined;
      groups.push(subjects.map((s) => this.keys.term(`subject:${s}`)));
    }
    return groups;
  }

  /** Stages the unions and the intersection; returns the key holding the result set. */
  private stageBase(multi: ReturnType<Redis['multi']>, groups: readonly string[][], scratch: string[]): string {
    if (groups.length === 0) return this.keys.all;
    const sets = groups.map((keys) => {
      if (keys.length === 1) return keys[0]!;
      const union = this.keys.scratch();
      scratch.push(union);
      multi.zunionstore(union, keys.length, ...keys, 'AGGREGATE', 'MIN');
      return union;
    });
    if (sets.length === 1) return sets[0]!;
    const intersection = this.keys.scratch();
    scratch.push(intersection);
    multi.zinterstore(intersection, sets.length, ...sets, 'AGGREGATE', 'MIN');
    return intersection;
  }
}

/** How many staging commands `stageBase` queues before the reads (to find the reads' replies). */
function groupStagingCount(groups: readonly string[][]): number {
  if (groups.length === 0) return 0;
  const unions = groups.filter((g) => g.length > 1).length;
  return unions + (groups.length > 1 ? 1 : 0);
}
