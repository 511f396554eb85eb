/**
 * Relayed reports that died here — for this hub's operator (`infoshare dead-relays`, on the host).
 *
 * A message another partnership's hub forwarded here that becomes a dead letter is reported to its sender through
 * that hub (dead-letter-reports.ts: the report is a message to the sender, delivered to the hub that serves it). If
 * that hub refuses the relay, or is down longer than the retry window, the relay itself dies here: a dead letter of
 * the report, listed under the sender — who cannot sign in at this hub — and re-drivable by no agency of this
 * partnership (another's message). A report is never reported, so no one hears of it but this hub's audit trail.
 * The operator lists them and, once that hub answers again, puts them back to pending: the same move as any re-drive
 * (redrive.ts), a change record saying the operator did it, and an ordinary delivery from there on (retries, exactly
 * once at the origin hub, which accepts a relay sent again once).
 */
import type { PartnershipConfig } from '../../shared/config.js';
import { servesPartnership } from '../../shared/config.js';
import type { Bundle } from 'fhir/r4.js';
import type { AlertsContext } from './context.js';
import { readRelayedReport } from './domain/dead-letter-report.js';
import { putDeadLetterBack, type Redrive } from './redrive.js';

/** Who the change record of an operator's re-drive names as re-driving. */
export const OPERATOR = "this hub's operator (infoshare dead-relays redrive)";

/** Dead letters read per page of a sender's list. */
const PAGE = 200;

export interface DeadRelay {
  /** The report's message id at this hub (what `redrive` takes). */
  readonly reportId: string;
  /** The sender it reports to, an agency another partnership's hub serves. */
  readonly sender: string;
  /** That partnership, whose hub the relay goes to. */
  readonly partnership: string;
  readonly deadAt: string;
  readonly attempts: number;
  /** Why the relay died (the origin hub's refusal, or the retry window running out with the last failure). */
  readonly reason?: string;
  /** What the report is about, when it reads back: the message as the sender's hub named it, and its recipient here. */
  readonly about?: { readonly message: string; readonly agency: string };
}

type Parts = Pick<AlertsContext, 'store' | 'isp'> & { readonly partnership: PartnershipConfig };

/** Every relayed report that died at this hub, newest first per sender. */
export async function deadRelaysOf(ctx: Parts): Promise<DeadRelay[]> {
  const relays: DeadRelay[] = [];
  for (const agency of (await ctx.isp.agencies()).values()) {
    if (servesPartnership(ctx.partnership, agency.partnership)) continue;
    for (let offset = 0; ; offset += PAGE) {
      const { letters } = await ctx.store.deadLettersOf(agency.id, offset, PAGE);
      for (const letter of letters) {
        // A sender's own report is its one recipient; a message forwarded from it has one of this hub's agencies.
        if (letter.agencyId !== agency.id) continue;
        const relay = await deadRelay(ctx, letter.messageId, agency.id, agency.partnership ?? '');
        if (relay) relays.push(relay);
      }
      if (letters.length < PAGE) break;
    }
  }
  return relays;
}

async function deadRelay(ctx: Parts, reportId: string, sender: string, partnership: string): Promise<DeadRelay | undefined> {
  const [message, delivery] = await Promise.all([ctx.store.message(reportId), ctx.store.delivery(reportId, sender)]);
  if (message?.kind !== 'report' || delivery?.state !== 'dead-letter') return undefined;
  return {
    reportId,
    sender,
    partnership,
    deadAt: delivery.deadAt ?? delivery.updatedAt,
    attempts: delivery.attempts,
    ...(delivery.lastError ? { reason: delivery.lastError } : {}),
    ...aboutOf(message.bundle),
  };
}

function aboutOf(bundle: unknown): Pick<DeadRelay, 'about'> {
  try {
    const { senderMessage, agencyId } = readRelayedReport(bundle as Bundle);
    return { about: { message: senderMessage, agency: agencyId } };
  } catch {
    return {};
  }
}

/**
 * Puts one dead relay back to pending (a new job, a new retry window), audited as the operator's. False, with nothing
 * changed, when `reportId` is not a relayed report that is a dead letter here.
 */
export async function redriveDeadRelay(ctx: Parts & Pick<AlertsContext, 'deliveries' | 'relay'>, reportId: string, cause: Redrive['cause']): Promise<boolean> {
  const message = await ctx.store.message(reportId);
  if (message?.kind !== 'report') return false;
  const agency = await ctx.isp.agency(message.sender);
  if (!agency || servesPartnership(ctx.partnership, agency.partnership)) return false;
  return putDeadLetterBack(ctx, { message, agencyId: message.sender, by: OPERATOR, cause });
}
