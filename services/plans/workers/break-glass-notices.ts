/**
 * The break-glass notice queue: one BullMQ job per notice (break-glass-notices.ts wrote it with the read's own audit
 * record), job id = the notice id, so the request's add and the sweeper's add queue it once.
 *
 * Producer: `BreakGlassNoticeQueue.add` right after the read's transaction; `sweep` (at start and every
 * `SWEEP_MS`) queues notices written whose add never happened (the process died in between).
 * Worker: re-reads the notice (settled → nothing to do: jobs run twice after crashes) and sends it through the
 * alerts service (break-glass.ts `sendBreakGlassNotice`) with the hub's own credentials, not the clinician's token.
 * A notice nobody may receive (no NP/LP agency the ISP allows, no CHI to name the person by) is settled `withheld`
 * and refused (outcome 4, not retried); an alerts service down or failing is retried with exponential backoff for
 * about a day; every attempt is audited by the runner.
 */
import type { Queue } from 'bullmq';
import { unprocessable } from '../../../shared/fhir/outcome.js';
import { openQueue, type QueueSite } from '../../../shared/queue/queues.js';
import { runWorker, type JobData, type RunningWorker, type WorkerRunnerDeps } from '../../../shared/queue/worker-runner.js';
import { sendBreakGlassNotice, type BreakGlassNotifierDeps } from '../break-glass.js';
import type { BreakGlassNoticeRecord, BreakGlassNotices } from '../break-glass-notices.js';

export const BREAK_GLASS_NOTICES_QUEUE = { family: 'plans-break-glass', name: 'notices' } as const;

/** Exponential from 2 s: 17 attempts reach past a day (2 s × 2^16 ≈ 36 h), so an alerts outage of hours is waited out. */
const JOB_OPTIONS = {
  attempts: 17,
  backoff: { type: 'exponential', delay: 2_000 },
  removeOnComplete: { age: 24 * 3600 },
  removeOnFail: { age: 7 * 24 * 3600 },
} as const;

/** How often notices written but never queued are looked for. */
const SWEEP_MS = 30_000;

export interface BreakGlassNoticeJobData extends JobData {
  readonly noticeId: string;
}

export interface BreakGlassNoticeJobResult {
  readonly state: 'sent' | 'settled';
  readonly messageId?: string;
}

/** The producer's handle: queues notices, and sweeps up any whose queueing was lost. */
export class BreakGlassNoticeQueue {
  private opened?: Queue<BreakGlassNoticeJobData, BreakGlassNoticeJobResult>;

  constructor(
    private readonly site: QueueSite,
    private readonly notices: BreakGlassNotices,
  ) {}

  private get queue(): Queue<BreakGlassNoticeJobData, BreakGlassNoticeJobResult> {
    this.opened ??= openQueue(this.site, BREAK_GLASS_NOTICES_QUEUE, JOB_OPTIONS);
    return this.opened;
  }

  /** Queues the notices, then clears their markers; if this fails the markers stay and the sweeper queues them. */
  async add(notices: readonly Pick<BreakGlassNoticeRecord, 'id' | 'requestId' | 'agent'>[]): Promise<void> {
    if (notices.length === 0) return;
    await this.queue.addBulk(notices.map((n) => ({ name: 'notify', data: { origin: { requestId: n.requestId, agent: n.agent }, noticeId: n.id }, opts: { jobId: n.id } })));
    await this.notices.markQueued(notices.map((n) => n.id));
  }

  /** Queues every notice still marked unqueued (a job that exists is not added again). Returns how many. */
  async sweep(): Promise<number> {
    const ids = await this.notices.unqueued();
    const found = (await Promise.all(ids.map((id) => this.notices.notice(id)))).flatMap((n) => (n ? [n.notice] : []));
    await this.add(found);
    await this.notices.markQueued(ids.filter((id) => !found.some((n) => n.id === id)));
    return found.length;
  }

  async close(): Promise<void> {
    await this.opened?.close();
  }
}

export interface BreakGlassNoticeWorkerDeps extends WorkerRunnerDeps {
  readonly notices: BreakGlassNotices;
  readonly queue: BreakGlassNoticeQueue;
  readonly notifier: BreakGlassNotifierDeps;
}

/** Starts sending notices (and sweeping: at once, then every SWEEP_MS). */
export function startBreakGlassNoticeWorker(deps: BreakGlassNoticeWorkerDeps): RunningWorker<BreakGlassNoticeJobData, BreakGlassNoticeJobResult> {
  const sweep = () => deps.queue.sweep().catch((err: unknown) => deps.log.warn({ err }, 'could not sweep break-glass notices; the next sweep will'));
  void sweep();
  const timer = setInterval(() => void sweep(), SWEEP_MS);
  timer.unref();
  const running = runWorker<BreakGlassNoticeJobData, BreakGlassNoticeJobResult>(deps, {
    queue: BREAK_GLASS_NOTICES_QUEUE,
    jobOptions: JOB_OPTIONS,
    concurrency: 4,
    describe: () => ({ type: 'transmit', subtype: '$process-message', action: 'C', dataCategory: 'alert', purpose: 'emergency-care' }),
    process: async (job) => {
      const stored = await deps.notices.notice(job.data.noticeId);
      if (!stored) throw unprocessable(`Break-glass notice ${job.data.noticeId} is not stored`);
      const about = { subject: `Person/${stored.notice.personId}`, entities: [{ reference: `MessageHeader/${stored.notice.id}`, role: 'data' as const }] };
      if (stored.state !== 'pending') return { result: { state: 'settled' }, audit: { ...about, outcomeDescription: `Already ${stored.state}: ${stored.detail ?? ''}` } };
      const sent = await sendBreakGlassNotice(deps.notifier, stored.notice);
      if (!('messageId' in sent)) {
        await deps.notices.settle(stored.notice.id, 'withheld', sent.withheld);
        throw unprocessable(`Break-glass notice withheld: ${sent.withheld}`);
      }
      await deps.notices.settle(stored.notice.id, 'sent', sent.messageId);
      const what = `Break-glass notice ${sent.messageId} accepted by the alerts service for ${sent.recipients.join(', ')}`;
      return { result: { state: 'sent', messageId: sent.messageId }, audit: { ...about, outcomeDescription: what } };
    },
  });
  return {
    ...running,
    close: async () => {
      clearInterval(timer);
      await running.close();
    },
  };
}
