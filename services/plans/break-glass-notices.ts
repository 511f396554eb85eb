/**
 * Break-glass notices, durably: a break-glass read's own audit record and the notice owed to the person's Named
 * Person / Lead Professional are written in ONE transaction (MULTI under `{plans:break-glass}`: the record into that
 * slot's audit outbox — relayed to the audit trail like every change record — the notice, and its "not yet queued"
 * marker). So no break-glass read stands in the audit trail without its notice, and no notice without its read; if
 * the write fails the read is not answered (an unaudited answer is refused). The notice is then sent by a worker
 * (workers/break-glass-notices.ts) with retries, each attempt audited.
 */
import type { Redis } from 'ioredis';
import type { AuditSink, ExchangeAgent, ExchangeRecord } from '../../shared/audit/exchange.js';
import { outboxEntryArgs } from '../../shared/audit/outbox.js';
import type { KeySpace } from '../../shared/redis/connection.js';
import { PlansKeys } from './keys.js';

/** One notice: who read whose record under break-glass, when, why and what. */
export interface BreakGlassNoticeRecord {
  /** `<requestId>~<personId>`-derived id, also the notice's job id and its alerts message id. */
  readonly id: string;
  readonly requestId: string;
  readonly agent: ExchangeAgent;
  /** The agency that broke the glass. */
  readonly agencyId: string;
  readonly personId: string;
  readonly reason: string;
  /** What was read (`CarePlan/…`). */
  readonly read: readonly string[];
  /** When (ISO instant). */
  readonly at: string;
}

export type NoticeState = 'pending' | 'sent' | 'withheld';

export interface StoredNotice {
  readonly notice: BreakGlassNoticeRecord;
  readonly state: NoticeState;
  /** Why it was withheld, or the alerts message id it was sent as. */
  readonly detail?: string;
}

/** The notice id of one person's break-glass read in one request (a FHIR id: letters, digits, `-`, `.`; at most 64). */
export function noticeIdOf(requestId: string, personId: string): string {
  return `btg-${requestId}-${personId}`.replace(/[^A-Za-z0-9\-.]/g, '-').slice(0, 64);
}

export class BreakGlassNotices {
  private readonly keys: PlansKeys;

  constructor(
    private readonly redis: Redis,
    space: KeySpace,
  ) {
    this.keys = new PlansKeys(space);
  }

  /** The read's record and its notices, in one transaction. Throws if Redis did not apply it. */
  async recordWithNotices(record: ExchangeRecord, notices: readonly BreakGlassNoticeRecord[]): Promise<string> {
    const multi = this.redis.multi().xadd(this.keys.breakGlassOutbox, '*', ...outboxEntryArgs(record));
    for (const notice of notices) {
      multi.hset(this.keys.breakGlassNotice(notice.id), 'notice', JSON.stringify(notice), 'state', 'pending');
      multi.sadd(this.keys.breakGlassUnqueued, notice.id);
    }
    const replies = await multi.exec();
    const failed = !replies ? new Error('the transaction was discarded') : replies.find(([err]) => err)?.[0];
    if (failed) throw failed;
    return String(replies![0]![1]);
  }

  async notice(id: string): Promise<StoredNotice | undefined> {
    const [json, state, detail] = await this.redis.hmget(this.keys.breakGlassNotice(id), 'notice', 'state', 'detail');
    if (!json) return undefined;
    return { notice: JSON.parse(json) as BreakGlassNoticeRecord, state: (state ?? 'pending') as NoticeState, ...(detail ? { detail } : {}) };
  }

  /** Settles a notice (sent, or withheld and why): a job run again finds it settled and does nothing. */
  async settle(id: string, state: Exclude<NoticeState, 'pending'>, detail: string): Promise<void> {
    await this.redis.hset(this.keys.breakGlassNotice(id), 'state', state, 'detail', detail);
  }

  /** Notices whose job is not confirmed queued. */
  unqueued(): Promise<string[]> {
    return this.redis.smembers(this.keys.breakGlassUnqueued);
  }

  async markQueued(ids: readonly string[]): Promise<void> {
    if (ids.length > 0) await this.redis.srem(this.keys.breakGlassUnqueued, ...ids);
  }
}

/**
 * The audit sink of one break-glass request: its record goes in with the request's notices (`notices()`, read when
 * the record is written — after the reads decided); with none (nothing was read under break-glass, or it was refused)
 * it goes to the service's own sink as usual. `committed` is awaited after the commit (relay the record on, queue the notices).
 */
export function breakGlassSink(
  store: BreakGlassNotices,
  fallback: AuditSink,
  notices: (record: ExchangeRecord) => readonly BreakGlassNoticeRecord[],
  committed: (notices: readonly BreakGlassNoticeRecord[]) => Promise<void>,
): AuditSink {
  return {
    async record(record: ExchangeRecord): Promise<string> {
      const owed = record.outcome === '0' ? notices(record) : [];
      if (owed.length === 0) return fallback.record(record);
      const id = await store.recordWithNotices(record, owed);
      await committed(owed);
      return id;
    },
  };
}
