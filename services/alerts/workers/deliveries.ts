/**
 * The delivery queue: one BullMQ job per recipient of an accepted message, in
 * the queue family `{alerts-delivery}` (its own hash tag: BullMQ's scripts
 * touch several keys of a queue at once), job id `<messageId>~<agencyId>`
 * (`jobIdOf`), so adding the same delivery twice — the accepting request and
 * the sweeper, or a retried request — queues it once.
 *
 * Producer side (this part): `DeliveryQueue.addDeliveries` after the accept
 * script, and `sweepUnqueued` for deliveries accepted whose job was never
 * confirmed (the service died in between). The worker — each attempt re-reads
 * the delivery, re-checks the ISP, builds the recipient's minimised message and
 * POSTs it to the agency's endpoint — is the delivery engineer's part of this file.
 */
import type { Queue } from 'bullmq';
import { jobIdOf, openQueue, type QueueSite } from '../../../shared/queue/queues.js';
import type { JobData } from '../../../shared/queue/worker-runner.js';
import type { AlertStore } from '../store.js';

export const DELIVERIES_QUEUE = { family: 'alerts-delivery', name: 'deliveries' } as const;

/** A delivery job: which message to which agency, and the request that caused it. Nothing else: the worker re-reads. */
export interface DeliveryJobData extends JobData {
  readonly messageId: string;
  readonly agencyId: string;
}

/** The job id of one recipient's delivery of one message. */
export function deliveryJobId(messageId: string, agencyId: string): string {
  return jobIdOf(messageId, agencyId);
}

/** `<messageId>~<agencyId>` → its parts (message ids and agency ids never contain `~`). */
export function deliveryOfJobId(jobId: string): { messageId: string; agencyId: string } | undefined {
  const [messageId, agencyId, ...rest] = jobId.split('~');
  return messageId && agencyId && rest.length === 0 ? { messageId, agencyId } : undefined;
}

/** The producer's handle on the delivery queue. */
export class DeliveryQueue {
  private opened?: Queue<DeliveryJobData>;

  constructor(
    private readonly site: QueueSite,
    private readonly store: AlertStore,
  ) {}

  /** Opened on first use, so building the service's context opens nothing. */
  private get queue(): Queue<DeliveryJobData> {
    this.opened ??= openQueue<DeliveryJobData, unknown>(this.site, DELIVERIES_QUEUE);
    return this.opened;
  }

  /**
   * Adds the jobs (one round trip: addBulk), then clears their `unqueued`
   * markers. If this fails the markers stay and the sweeper adds them later.
   */
  async addDeliveries(jobs: readonly DeliveryJobData[]): Promise<void> {
    if (jobs.length === 0) return;
    await this.queue.addBulk(jobs.map((data) => ({ name: 'deliver', data, opts: { jobId: deliveryJobId(data.messageId, data.agencyId) } })));
    await this.store.markQueued(jobs.map((j) => deliveryJobId(j.messageId, j.agencyId)));
  }

  /**
   * Re-queues deliveries accepted but not confirmed queued (the accepting process
   * died between the accept script and addBulk). Safe at any time and from any
   * process: a job that exists is not added again. Returns how many it re-added.
   */
  async sweepUnqueued(): Promise<number> {
    let swept = 0;
    for (;;) {
      const ids = await this.store.unqueued();
      if (ids.length === 0) return swept;
      const jobs: DeliveryJobData[] = [];
      const unreadable: string[] = [];
      const origins = new Map<string, DeliveryJobData['origin'] | undefined>();
      for (const id of ids) {
        const parts = deliveryOfJobId(id);
        if (!parts) {
          unreadable.push(id);
          continue;
        }
        if (!origins.has(parts.messageId)) origins.set(parts.messageId, (await this.store.message(parts.messageId))?.origin);
        const origin = origins.get(parts.messageId);
        if (!origin) unreadable.push(id);
        else jobs.push({ origin, ...parts });
      }
      await this.addDeliveries(jobs);
      // A marker naming no message cannot be delivered; dropping it keeps the sweep from spinning on it.
      await this.store.markQueued(unreadable);
      swept += jobs.length;
    }
  }

  async close(): Promise<void> {
    await this.opened?.close();
  }
}
