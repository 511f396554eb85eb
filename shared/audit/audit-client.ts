/**
 * The audit trail's write side: one append-only Redis stream of AuditEvents
 * (entry layout and canonical form in `audit-entry.ts`), and a reader for tests
 * and the audit service.
 *
 * `record` resolves only once Redis has answered the append; with the hub's
 * `appendfsync always` that means the entry is on disk (DESIGN.md §3). If it
 * cannot be written within a short deadline it rejects, and the caller answers
 * 503 instead of sending an unaudited response (shared/fhir/express.ts): an
 * exchange must never happen without its record. The cost of that rule is the
 * opposite, rarer case: an append that was sent but timed out may still land,
 * so an exchange answered 503 can have a record. Over-recording is the safe side.
 *
 * Retries must not write an entry twice. Each write carries a fresh write id; a
 * Lua script appends the entries and leaves a short-lived marker holding their
 * stream ids, so a retried (or reconnect-resent) write returns the first ids
 * instead of appending again.
 */
import { createHash, randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { AuditEvent } from 'fhir/r4.js';
import type { Redis } from 'ioredis';
import { unavailable, type OperationOutcomeError } from '../fhir/outcome.js';
import { createLogger, type Logger } from '../log.js';
import type { KeySpace } from '../redis/connection.js';
import { storedAuditEntry } from './audit-event.js';
import { WRITTEN_ENTRY_FIELDS, entryArgs, eventOfEntry, parseAuditEntry, type AuditEntry } from './audit-entry.js';
import type { AuditSink, ExchangeRecord } from './exchange.js';
import { auditStreamKey } from './audit-stream.js';

function writeMarkerKey(keys: KeySpace, writeId: string): string {
  return keys.key('audit', 'written', writeId);
}

/**
 * KEYS[1] stream, KEYS[2] write marker.
 * ARGV[1] marker TTL (s), ARGV[2] fields per entry, ARGV[3…] the entries' field/value pairs.
 * Returns the entries' stream ids joined by commas (the first write's ids when retried).
 */
const APPEND_SCRIPT = `
local done = redis.call('GET', KEYS[2])
if done then return done end
local width = tonumber(ARGV[2]) * 2
local ids = {}
for i = 3, #ARGV, width do
  ids[#ids + 1] = redis.call('XADD', KEYS[1], '*', unpack(ARGV, i, i + width - 1))
end
local joined = table.concat(ids, ',')
redis.call('SET', KEYS[2], joined, 'EX', tonumber(ARGV[1]))
return joined
`;
const APPEND_SHA = createHash('sha1').update(APPEND_SCRIPT).digest('hex');

/** Long enough to outlive any retry or reconnect resend of a write; short enough to cost little memory. */
const MARKER_TTL_SECONDS = 300;
/** Script calls sent in one pipeline by `recordMany` before waiting for their replies. */
const BATCHES_PER_PIPELINE = 10;
const READY_POLL_MS = 20;

export interface RedisAuditSinkOptions {
  /** Time one write may take, retries included, before it rejects (ms). Default 1500. */
  readonly deadlineMs?: number;
  /** Attempts within the deadline. Default 3. */
  readonly attempts?: number;
  /** Pause before the n-th retry: n × this (ms). Default 50. */
  readonly retryDelayMs?: number;
  /** Entries appended by one script call in `recordMany`. Default 100. */
  readonly batchSize?: number;
  /** Clock for records without a `recorded` time. */
  readonly now?: () => Date;
  readonly log?: Logger;
}

class TransientAuditError extends Error {
  override readonly name = 'TransientAuditError';
}

/** Redis replies that mean "try again shortly" (loading, failover, busy script, cluster reshaping). */
const TRANSIENT_REPLY = /^(LOADING|READONLY|BUSY|TRYAGAIN|CLUSTERDOWN|MASTERDOWN|NOSCRIPT)\b/;
const TRANSIENT_CODES = new Set(['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH']);

function isTransient(err: unknown): boolean {
  if (err instanceof TransientAuditError) return true;
  if (!(err instanceof Error)) return false;
  const code = (err as NodeJS.ErrnoException).code;
  // "Connection is closed" also comes from a connection that is only reconnecting; the retry loop
  // stops at once when it is closed for good (status `end`).
  return (
    TRANSIENT_REPLY.test(err.message) || err.message.startsWith('Connection is closed') || (code !== undefined && TRANSIENT_CODES.has(code))
  );
}

export class RedisAuditSink implements AuditSink {
  private readonly deadlineMs: number;
  private readonly attempts: number;
  private readonly retryDelayMs: number;
  private readonly batchSize: number;
  private readonly now: () => Date;
  private readonly log: Logger;

  constructor(
    private readonly redis: Redis,
    private readonly keys: KeySpace,
    options: RedisAuditSinkOptions = {},
  ) {
    this.deadlineMs = options.deadlineMs ?? 1500;
    this.attempts = Math.max(1, options.attempts ?? 3);
    this.retryDelayMs = options.retryDelayMs ?? 50;
    this.batchSize = Math.max(1, options.batchSize ?? 100);
    this.now = options.now ?? (() => new Date());
    this.log = options.log ?? createLogger('audit-client');
  }

  /** Appends one exchange's AuditEvent; resolves with its stream id once Redis has it. */
  async record(exchange: ExchangeRecord): Promise<string> {
    const entry = this.entryOf(exchange);
    const writeId = randomUUID();
    const [id] = await this.withRetries(() => appendAuditEntries(this.redis, this.keys, [entry], writeId), exchange.requestId);
    return id as string;
  }

  /**
   * Appends many exchanges in order, pipelined (bulk loads audit thousands of
   * exchanges; one awaited write per record would halve throughput under
   * `appendfsync always`). Resolves with the stream ids in input order. Order
   * holds unless a retry re-sends a batch after a later one already landed.
   */
  async recordMany(exchanges: readonly ExchangeRecord[]): Promise<string[]> {
    const entries = exchanges.map((e) => this.entryOf(e));
    const ids: string[] = [];
    const perPipeline = this.batchSize * BATCHES_PER_PIPELINE;
    for (let start = 0; start < entries.length; start += perPipeline) {
      const batches: { entries: AuditEntry[]; writeId: string }[] = [];
      for (let b = start; b < Math.min(start + perPipeline, entries.length); b += this.batchSize) {
        batches.push({ entries: entries.slice(b, Math.min(b + this.batchSize, start + perPipeline)), writeId: randomUUID() });
      }
      ids.push(...(await this.withRetries(() => this.appendPipelined(batches), exchanges[start]?.requestId ?? '')));
    }
    return ids;
  }

  private entryOf(exchange: ExchangeRecord): AuditEntry {
    return storedAuditEntry(exchange.recorded ? (exchange as ExchangeRecord & { recorded: string }) : { ...exchange, recorded: this.now().toISOString() });
  }

  private async appendPipelined(batches: readonly { entries: AuditEntry[]; writeId: string }[]): Promise<string[]> {
    const pipeline = this.redis.pipeline();
    // EVAL, not EVALSHA: the script text is small beside a batch of events, and it needs no NOSCRIPT round trip.
    for (const batch of batches) pipeline.eval(APPEND_SCRIPT, 2, ...appendArgs(this.keys, batch.entries, batch.writeId));
    const results = (await pipeline.exec()) ?? [];
    if (results.length !== batches.length) throw new TransientAuditError('pipeline returned no replies');
    return results.flatMap(([err, reply], i) => {
      if (err) throw err;
      return idsOf(reply, batches[i]?.entries.length ?? 0);
    });
  }

  /**
   * Runs a write until it succeeds, fails for good, or the deadline passes.
   * Rejects with a 503 OperationOutcomeError carrying the last failure as `cause`.
   */
  private async withRetries<T>(write: () => Promise<T>, requestId: string): Promise<T> {
    const deadline = Date.now() + this.deadlineMs;
    let lastError: unknown;
    for (let attempt = 1; attempt <= this.attempts; attempt++) {
      // A closed connection never comes back: fail now rather than wait out the deadline.
      if (this.redis.status === 'end') {
        lastError = new Error('Redis connection is closed');
        break;
      }
      try {
        return await withDeadline(this.whenReady(deadline).then(write), deadline);
      } catch (err) {
        lastError = err;
        if (!isTransient(err) || attempt === this.attempts || Date.now() >= deadline) break;
        this.log.warn({ err, requestId, attempt }, 'audit write failed; retrying');
      }
      await sleep(Math.min(this.retryDelayMs * attempt, Math.max(0, deadline - Date.now())));
    }
    const failure: OperationOutcomeError = unavailable('The exchange could not be recorded in the audit trail; please retry');
    failure.cause = lastError;
    throw failure;
  }

  /**
   * Sends only on a ready connection: ioredis would otherwise queue the command
   * offline and send it whenever Redis returns, long after we gave up.
   */
  private async whenReady(deadline: number): Promise<void> {
    while (this.redis.status !== 'ready') {
      if (this.redis.status === 'end') throw new Error('Redis connection is closed');
      if (Date.now() >= deadline) throw new TransientAuditError(`Redis not ready (${this.redis.status})`);
      await sleep(READY_POLL_MS);
    }
  }
}

function appendArgs(keys: KeySpace, entries: readonly AuditEntry[], writeId: string): string[] {
  const fields = entries.map(entryArgs);
  // The script takes one width for the batch: the hub writes every entry in one layout.
  const width = fields[0]?.length ?? 2 * WRITTEN_ENTRY_FIELDS;
  if (fields.some((f) => f.length !== width)) throw new Error('Audit entries of one write must share a layout');
  return [auditStreamKey(keys), writeMarkerKey(keys, writeId), String(MARKER_TTL_SECONDS), String(width / 2), ...fields.flat()];
}

/**
 * Appends entries in order, once per `writeId`: calling it again with the same
 * id (a retry) appends nothing and returns the ids of the first call. One try,
 * no retries — `RedisAuditSink` adds those.
 */
export async function appendAuditEntries(
  redis: Redis,
  keys: KeySpace,
  entries: readonly AuditEntry[],
  writeId: string,
): Promise<string[]> {
  const args = appendArgs(keys, entries, writeId);
  let reply: unknown;
  try {
    reply = await redis.evalsha(APPEND_SHA, 2, ...args);
  } catch (err) {
    // First use on this server (or after a restart emptied its script cache).
    if (!(err instanceof Error && err.message.startsWith('NOSCRIPT'))) throw err;
    reply = await redis.eval(APPEND_SCRIPT, 2, ...args);
  }
  return idsOf(reply, entries.length);
}

async function withDeadline<T>(work: Promise<T>, deadline: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new TransientAuditError('audit write timed out')), Math.max(0, deadline - Date.now()));
  });
  try {
    return await Promise.race([work, expired]);
  } finally {
    clearTimeout(timer);
  }
}

function idsOf(reply: unknown, expected: number): string[] {
  const ids = typeof reply === 'string' && reply ? reply.split(',') : [];
  if (ids.length !== expected) throw new Error(`audit append returned ${ids.length} ids for ${expected} entries`);
  return ids;
}

export interface ReadOptions {
  /** Read entries strictly after this stream id (default: from the start). */
  readonly sinceId?: string;
  /** At most this many entries (default 1000); page on with the last id as `sinceId`. */
  readonly count?: number;
}

/** Raw entries in stream order: what a chainer hashes (`canonicalEntry`). */
export async function readAuditEntries(
  redis: Redis,
  keys: KeySpace,
  options: ReadOptions = {},
): Promise<{ id: string; entry: AuditEntry }[]> {
  const start = options.sinceId ? `(${options.sinceId}` : '-';
  const rows = await redis.xrange(auditStreamKey(keys), start, '+', 'COUNT', options.count ?? 1000);
  return rows.map(([id, flat]) => ({ id, entry: parseAuditEntry(flat) }));
}

/** AuditEvents in stream order; the stream id is the event's id. */
export async function readAuditEvents(
  redis: Redis,
  keys: KeySpace,
  options: ReadOptions = {},
): Promise<{ id: string; event: AuditEvent }[]> {
  return (await readAuditEntries(redis, keys, options)).map(({ id, entry }) => ({ id, event: eventOfEntry(entry) }));
}

/**
 * Every AuditEvent recorded under one request id, in stream order — the request's own record,
 * its jobs' attempts and its committed changes (they share the id). Reads the stream page by page.
 */
export async function readAuditTrailOf(redis: Redis, keys: KeySpace, requestId: string): Promise<AuditEvent[]> {
  const trail: AuditEvent[] = [];
  let sinceId: string | undefined;
  for (;;) {
    const page = await readAuditEntries(redis, keys, { count: 10_000, ...(sinceId ? { sinceId } : {}) });
    for (const { entry } of page) if (entry.requestId === requestId) trail.push(eventOfEntry(entry));
    if (page.length < 10_000) return trail;
    sinceId = page[page.length - 1]!.id;
  }
}
