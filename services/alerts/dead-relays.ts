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
import { readRelayedReport, reportedMessageOf } from './domain/dead-letter-report.js';
import { forwardedMessageIdOf } from './domain/peer-hubs.js';
import { putDeadLetterBack, type Redrive } from './redrive.js';
import type { StoredMessage } from './store.js';

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

/** A report held here: a dead relay this hub's operator may re-drive, or why it is not one. */
export type RelayVerdict =
  /** `report`: the report as the verdict read it (a re-drive puts it back without reading it again). */
  | { readonly relay: DeadRelay; readonly report: StoredMessage; readonly refused?: undefined }
  | { readonly refused: string; readonly relay?: undefined };

/** Every relayed report that died at this hub, newest first per sender. */
export async function deadRelaysOf(ctx: Parts): Promise<DeadRelay[]> {
  const relays: DeadRelay[] = [];
  for (const agency of (await ctx.isp.agencies()).values()) {
    if (!isPeer(ctx.partnership, agency.partnership)) continue;
    for (let offset = 0; ; offset += PAGE) {
      const { letters } = await ctx.store.deadLettersOf(agency.id, offset, PAGE);
      for (const letter of letters) {
        // A sender's own report is its one recipient; a message forwarded from it has one of this hub's agencies.
        if (letter.agencyId !== agency.id) continue;
        const { relay } = await deadRelayVerdict(ctx, letter.messageId);
        if (relay) relays.push(relay);
      }
      if (letters.length < PAGE) break;
    }
  }
  return relays;
}

/**
 * Whether `reportId` is a dead relay of this hub — checked from its origin: a dead-letter report (1) to a sender of a
 * partnership this hub relays to (a peer hub, INFOSHARE_PEER_HUBS), (2) about a message that partnership's hub
 * forwarded here (accepted under that hub's delivery token, named after it), (3) whose delivery is a dead letter —
 * or, in words an operator can act on, why not. A hub started as another partnership than the data it reads (a
 * wrong `--partnership` or key prefix) finds none of its relays: every report fails (1) or (2).
 */
export async function deadRelayVerdict(ctx: Parts, reportId: string): Promise<RelayVerdict> {
  const here = `the ${ctx.partnership.id} hub`;
  const report = await ctx.store.message(reportId);
  if (!report) return { refused: `no message ${reportId} at ${here}` };
  if (report.kind !== 'report') return { refused: `${reportId} is not a dead-letter report (its kind: ${report.kind}): its sender re-drives it with $redrive` };
  const partnership = (await ctx.isp.agency(report.sender))?.partnership;
  if (partnership === undefined || !isPeer(ctx.partnership, partnership)) {
    return {
      refused:
        `${reportId} reports to ${report.sender}, ${partnership ? `an agency of ${partnership}` : 'an agency'} whose hub is not a peer of ${here} ` +
        `(INFOSHARE_PEER_HUBS: ${ctx.partnership.peerHubs.join(', ') || 'none'}): not a relay — ${report.sender} re-drives it with $redrive`,
    };
  }
  const messageId = reportedMessageOf(report.bundle as Bundle);
  const reported = messageId ? await ctx.store.message(messageId) : undefined;
  if (!reported || reported.sender !== report.sender || !forwardedBy(reported, partnership)) {
    return { refused: `${reportId} is not about a message the ${partnership} hub forwarded to ${here} (${messageId ? `message ${messageId}` : 'no message named'}): not a relay this hub made` };
  }
  const delivery = await ctx.store.delivery(reportId, report.sender);
  if (delivery?.state !== 'dead-letter') return { refused: `${reportId} is ${delivery?.state ?? 'without a delivery'}, not a dead letter: nothing to re-drive` };
  return {
    report,
    relay: {
      reportId,
      sender: report.sender,
      partnership,
      deadAt: delivery.deadAt ?? delivery.updatedAt,
      attempts: delivery.attempts,
      ...(delivery.lastError ? { reason: delivery.lastError } : {}),
      ...aboutOf(report.bundle),
    },
  };
}

/** An agency's partnership is one whose hub this hub relays to. */
function isPeer(config: PartnershipConfig, partnership: string | undefined): boolean {
  return partnership !== undefined && !servesPartnership(config, partnership);
}

/** The message was accepted here from `partnership`'s hub (its delivery token, peer-exchange.ts) under the id a forward from it gets. */
function forwardedBy(message: StoredMessage, partnership: string): boolean {
  const { agent } = message.origin;
  return (
    agent.clientId === `hub:${partnership}` &&
    agent.partnership === partnership &&
    message.headerId !== undefined &&
    message.id === forwardedMessageIdOf(partnership, message.sender, message.headerId, message.recipients)
  );
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
 * Puts one dead relay back to pending (a new job, a new retry window), audited as the operator's. Refused, with
 * nothing changed and the reason, when `reportId` is not a dead relay of this hub (`deadRelayVerdict`).
 */
export async function redriveDeadRelay(
  ctx: Parts & Pick<AlertsContext, 'deliveries' | 'relay'>,
  reportId: string,
  cause: Redrive['cause'],
): Promise<{ readonly redriven: true } | { readonly redriven: false; readonly reason: string }> {
  const verdict = await deadRelayVerdict(ctx, reportId);
  if (verdict.refused !== undefined) return { redriven: false, reason: verdict.refused };
  if (await putDeadLetterBack(ctx, { message: verdict.report, agencyId: verdict.relay.sender, by: OPERATOR, cause })) return { redriven: true };
  return { redriven: false, reason: `${reportId} is no longer a dead letter (re-driven meanwhile): nothing to re-drive` };
}
