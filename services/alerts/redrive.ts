/**
 * A dead letter put back to `pending`: one move, one change record, one new job, one new retry window. What the
 * sender's `$redrive` does (operations/dead-letters.ts), what another partnership's hub asks for its sender
 * (operations/peer-redrive.ts) — both through operations/redrive-dead-letter.ts — and what this hub's operator does
 * for a relayed report that died here (dead-relays.ts, `infoshare dead-relays redrive`).
 */
import type { ExchangeAgent } from '../../shared/audit/exchange.js';
import { changeRecord } from '../../shared/audit/outbox.js';
import type { AlertsContext } from './context.js';
import { DELIVERY_STORE } from './keys.js';
import type { StoredMessage } from './store.js';

export interface Redrive {
  readonly message: Pick<StoredMessage, 'id' | 'sender' | 'personId'>;
  readonly agencyId: string;
  /** Whose re-drive it is, in the change record's words ("Re-driven by <by>: …"). */
  readonly by: string;
  /** The exchange the re-drive is part of: the change record and the new job's attempts are audited under it. */
  readonly cause: { readonly requestId: string; readonly agent: ExchangeAgent };
}

/**
 * Moves the delivery from `dead-letter` to `pending` with its change record (one script), relays the record and
 * queues the new job. False, with nothing changed, when the delivery is not a dead letter (any more).
 */
export async function putDeadLetterBack(ctx: Pick<AlertsContext, 'store' | 'deliveries' | 'relay'>, { message, agencyId, by, cause }: Redrive): Promise<boolean> {
  const subject = `Person/${message.personId}`;
  // The old job (failed, kept for a week) would make the new add a no-op: it goes first.
  await ctx.deliveries.forgetFinishedJob(message.id, agencyId);
  const step = await ctx.store.stepDelivery(message.id, agencyId, {
    from: ['dead-letter'],
    to: 'pending',
    at: new Date(),
    sender: message.sender,
    redrive: true,
    record: changeRecord(
      { ...cause, service: 'alerts' },
      { subtype: '$redrive', action: 'U', subject, outcomeDescription: `Re-driven by ${by}: the delivery to ${agencyId} is pending again`, entities: [{ reference: `MessageHeader/${message.id}`, role: 'data' }] },
      DELIVERY_STORE,
    ),
  });
  if (step.kind !== 'applied') return false;
  await ctx.relay.flushQuietly(cause.requestId);
  await ctx.deliveries.redrive({ origin: { requestId: cause.requestId, agent: cause.agent }, messageId: message.id, agencyId });
  return true;
}
