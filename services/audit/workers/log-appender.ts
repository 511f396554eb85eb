/**
 * The log's one background worker: it consumes the audit stream with a Redis
 * consumer group and appends every entry as a leaf of the Merkle tree, in
 * stream order, a batch at a time, then signs checkpoints when due.
 *
 * Not a BullMQ queue: the audit stream is the queue. The consumer group keeps
 * the place: entries read but not acknowledged (a crash between read and
 * append) are read again first on restart; entries added while the service
 * was down are simply the next ones to read. Nothing is lost, and nothing is
 * appended twice: ids at or before the tree's last leaf are skipped, and the
 * append script refuses a batch that is not exactly the stream's next entries
 * (another appender got there first, or entries were read out of order) — the
 * appender then re-reads from the tree's last leaf with XRANGE and goes on.
 *
 * Appending is not itself an exchange and is not audited: a record of each
 * append would be an entry to append, for ever. What it does is logged.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Redis } from 'ioredis';
import { canonicalEntry, parseAuditEntry, type AuditEntry } from '../../../shared/audit/audit-entry.js';
import type { Logger } from '../../../shared/log.js';
import type { Checkpointer } from '../checkpointer.js';
import { leafHashOfText } from '../domain/merkle.js';
import { streamIdAfter, type Frontier } from '../domain/tiles.js';
import { LOG_CONSUMER_GROUP, type AuditKeys } from '../keys.js';
import type { LogStore, PreparedLeaf } from '../store.js';

/** One consumer name for every process: a restarted appender re-reads the entries its predecessor left unacknowledged. */
const CONSUMER = 'log';
const RETRY_PAUSE_MS = 500;

export interface LogAppenderOptions {
  /** A connection of its own: XREADGROUP BLOCK holds it while waiting. */
  readonly redis: Redis;
  readonly keys: AuditKeys;
  readonly store: LogStore;
  readonly checkpointer: Checkpointer;
  readonly batchSize: number;
  /** How long one read waits for new entries (ms); checkpoints due by time are signed between reads. */
  readonly blockMs: number;
  readonly log: Logger;
  /** Called after each batch is in the tree (the evidence side's search index). A failure is logged, never retried here. */
  readonly afterAppend?: (batch: readonly { id: string; entry: AuditEntry }[]) => Promise<void>;
}

type Row = [id: string, fields: string[] | null];

export class LogAppender {
  private frontier: Frontier | undefined;
  private lastId: string | undefined;
  private loop: Promise<void> | undefined;
  private stopped = false;

  constructor(private readonly options: LogAppenderOptions) {}

  /** Starts consuming in the background. */
  start(): void {
    this.loop ??= this.run();
  }

  async close(): Promise<void> {
    this.stopped = true;
    // A blocked XREADGROUP returns within blockMs; disconnecting would lose nothing either, but this is cleaner.
    await this.loop;
  }

  /** The tree's size as this appender knows it. */
  get size(): number {
    return this.frontier?.size ?? 0;
  }

  /**
   * Appends everything the stream holds now, without the consumer group's
   * blocking read (tests, the bench, `infoshare audit` tools); resolves with the size.
   */
  async catchUp(): Promise<number> {
    await this.reload();
    if (!(await this.ensureGroup())) return this.size;
    for (;;) {
      const rows = await this.rangeAfterLast();
      if (rows.length === 0) return this.size;
      await this.appendRows(rows);
    }
  }

  private async run(): Promise<void> {
    const { log } = this.options;
    while (!this.stopped) {
      try {
        if (!(await this.ensureGroup())) {
          await sleep(this.options.blockMs);
          continue;
        }
        await this.reload();
        // First what a previous run read and did not acknowledge, then new entries.
        let pendingFrom: string | undefined = '0';
        while (!this.stopped) {
          const rows = await this.readGroup(pendingFrom);
          if (pendingFrom !== undefined) {
            if (rows.length === 0) pendingFrom = undefined;
            else pendingFrom = rows[rows.length - 1]![0];
          }
          if (rows.length > 0) await this.appendRows(rows);
          await this.options.checkpointer.maybeSign(this.frontier!);
        }
      } catch (err) {
        if (this.stopped) break;
        // The stream deleted under a blocked read (a test namespace cleaned up): wait for it to exist again.
        if (err instanceof Error && err.message.startsWith('UNBLOCKED')) log.debug({ err }, 'the audit stream was deleted');
        else log.error({ err }, 'audit log append failed; retrying (entries wait in the audit stream)');
        await sleep(RETRY_PAUSE_MS);
      }
    }
  }

  /**
   * Creates the consumer group (reading from the stream's start) once the
   * stream exists; false while it does not. The log never creates the audit
   * stream itself: only the hub's audit writers do.
   */
  private async ensureGroup(): Promise<boolean> {
    try {
      await this.options.redis.xgroup('CREATE', this.options.keys.stream, LOG_CONSUMER_GROUP, '0');
      return true;
    } catch (err) {
      if (err instanceof Error && err.message.startsWith('BUSYGROUP')) return true;
      if (err instanceof Error && /requires the key to exist/i.test(err.message)) return false;
      throw err;
    }
  }

  private async reload(): Promise<void> {
    const { frontier, lastId } = await this.options.store.frontier();
    this.frontier = frontier;
    this.lastId = lastId;
  }

  private async readGroup(pendingFrom: string | undefined): Promise<Row[]> {
    const { redis, keys, batchSize, blockMs } = this.options;
    const reply = (pendingFrom !== undefined
      ? await redis.xreadgroup('GROUP', LOG_CONSUMER_GROUP, CONSUMER, 'COUNT', batchSize, 'STREAMS', keys.stream, pendingFrom)
      : await redis.xreadgroup('GROUP', LOG_CONSUMER_GROUP, CONSUMER, 'COUNT', batchSize, 'BLOCK', blockMs, 'STREAMS', keys.stream, '>'));
    return reply?.[0]?.[1] ?? [];
  }

  private async rangeAfterLast(): Promise<Row[]> {
    const { redis, keys, batchSize } = this.options;
    return (await redis.xrange(keys.stream, this.lastId ? `(${this.lastId}` : '-', '+', 'COUNT', batchSize));
  }

  /** Appends the rows not yet in the tree, then acknowledges all of them to the group. */
  private async appendRows(rows: readonly Row[]): Promise<void> {
    const fresh = rows.filter(([id, fields]) => fields !== null && (this.lastId === undefined || streamIdAfter(id, this.lastId)));
    if (fresh.length > 0 && !(await this.tryAppend(fresh))) {
      // Not the stream's next entries, or the tree moved: continue from the tree's own last leaf.
      // Catches up to the stream's end, so whatever the group delivered is in the tree before it is acknowledged.
      await this.reload();
      for (;;) {
        const next = await this.rangeAfterLast();
        if (next.length === 0) break;
        if (!(await this.tryAppend(next))) await this.reload();
      }
    }
    await this.options.redis.xack(this.options.keys.stream, LOG_CONSUMER_GROUP, ...rows.map(([id]) => id));
  }

  /** One append attempt; false when the script refused it (stale tree or not the next entries). */
  private async tryAppend(rows: readonly Row[]): Promise<boolean> {
    const { store, log, afterAppend } = this.options;
    const batch = rows.map(([id, fields]) => ({ id, entry: parseAuditEntry(fields ?? []) }));
    // Each in the layout its `v` names: the append script records, if no earlier appender did, that leaves are from here on.
    const leaves: PreparedLeaf[] = batch.map(({ id, entry }) => ({ id, leafHash: leafHashOfText(canonicalEntry(entry, id)) }));
    const result = await store.append(leaves, this.frontier!);
    if (result.kind !== 'appended') {
      log.warn({ reason: result.kind, size: this.frontier!.size }, 'audit log batch refused; re-reading from the last leaf');
      return false;
    }
    this.frontier = result.frontier;
    this.lastId = rows[rows.length - 1]![0];
    await this.options.checkpointer.maybeSign(this.frontier);
    if (afterAppend) await afterAppend(batch).catch((err: unknown) => log.warn({ err }, 'after-append hook failed'));
    return true;
  }
}
