/**
 * Checking that the hub recorded the maturity criteria a step should have
 * evidenced. Every request of a step carries an X-Request-Id starting with the
 * step's prefix; the hub writes each exchange's AuditEvent (with its criteria
 * and request id) to the audit stream before it answers, so once a step has
 * its answer, its evidence is in the stream — except an alert's acceptance, whose
 * request's record is committed with the acceptance in the `{alerts}` outbox and
 * relayed just after the answer: the check first waits for that outbox to hold
 * nothing committed before the answer (`relayed`).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Redis } from 'ioredis';
import { readAuditEntries } from '../../shared/audit/audit-client.js';
import { auditStreamKey } from '../../shared/audit/audit-stream.js';
import { connectRedis, KeySpace } from '../../shared/redis/connection.js';
import { AlertsKeys } from '../../services/alerts/keys.js';

export interface EvidenceReader {
  /** The audit stream position now (read only entries after it). */
  mark(): Promise<string | undefined>;
  /** The criteria of every audit entry after `mark` whose request id starts with `requestIdPrefix`. */
  criteriaSince(mark: string | undefined, requestIdPrefix: string): Promise<Set<string>>;
  /**
   * Resolves once the records committed in an outbox before now are in the audit stream (an alert's acceptance
   * commits its request's record there: services/alerts/store.ts), or after `timeoutMs` — the check then reports
   * what is missing.
   */
  relayed(timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

const PAGE = 1000;
const RELAYED_POLL_MS = 20;

export class RedisEvidenceReader implements EvidenceReader {
  private readonly keys: KeySpace;

  constructor(
    private readonly redis: Redis,
    keyPrefix: string,
    private readonly ownsConnection: boolean,
  ) {
    this.keys = new KeySpace(keyPrefix);
  }

  static connect(redisUrl: string, keyPrefix: string): RedisEvidenceReader {
    const redis = connectRedis(redisUrl, { maxRetriesPerRequest: 2, lazyConnect: false });
    // Connection trouble surfaces as a failed read, reported on the step; no unhandled 'error' noise meanwhile.
    redis.on('error', () => {});
    return new RedisEvidenceReader(redis, keyPrefix, true);
  }

  async mark(): Promise<string | undefined> {
    const last = await this.redis.xrevrange(auditStreamKey(this.keys), '+', '-', 'COUNT', 1);
    return last[0]?.[0];
  }

  async criteriaSince(mark: string | undefined, requestIdPrefix: string): Promise<Set<string>> {
    const found = new Set<string>();
    let sinceId = mark;
    for (;;) {
      const page = await readAuditEntries(this.redis, this.keys, { ...(sinceId ? { sinceId } : {}), count: PAGE });
      for (const { entry } of page) {
        if (!entry.requestId.startsWith(requestIdPrefix)) continue;
        for (const c of entry.criteria.split(',')) if (c) found.add(c);
      }
      if (page.length < PAGE) return found;
      sinceId = page[page.length - 1]!.id;
    }
  }

  async relayed(timeoutMs = 5_000): Promise<void> {
    const outboxes = new AlertsKeys(this.keys).outboxes;
    const [seconds, micros] = await this.redis.time();
    // Outbox ids are Redis's clock in ms: an entry at or before now was committed before the answer.
    const now = Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const oldest = await Promise.all(outboxes.map(async (outbox) => (await this.redis.xrange(outbox, '-', '+', 'COUNT', 1))[0]));
      if (oldest.every((entry) => !entry || Number(entry[0].split('-')[0]) > now) || Date.now() >= deadline) return;
      await sleep(RELAYED_POLL_MS);
    }
  }

  async close(): Promise<void> {
    if (this.ownsConnection) await this.redis.quit().catch(() => this.redis.disconnect());
  }
}
