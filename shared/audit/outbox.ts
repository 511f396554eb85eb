/**
 * The audit outbox: how a state change and its audit record commit together.
 *
 * The rule is "no change stands without its audit record". Writing the change
 * and then appending to the audit stream leaves a window — a failed append, or a
 * process killed between the two — in which the change stands unrecorded. So a
 * store that changes state writes a *change record* into an outbox stream **in
 * the same MULTI/EXEC or Lua script as the change**; Redis applies both or
 * neither. A relay (`outbox-relay.ts`) then moves outbox entries to the one
 * audit stream, exactly once, in order.
 *
 * Redis Cluster: one MULTI or script touches one hash slot, so there is one
 * outbox per hash tag that holds state (`<prefix>:{mpi}:audit-outbox`,
 * `<prefix>:{fhir:Organization}:audit-outbox`, …) — the change and its record
 * always share a slot. Each service tells its relay which outboxes it writes.
 *
 * Entries have the audit stream's own layout (`audit-entry.ts`), built at commit
 * time, so the relay copies them field by field and the hash chain covers the
 * bytes the service wrote.
 */
import type { ChainableCommander } from 'ioredis';
import type { KeySpace } from '../redis/connection.js';
import { entryArgs } from './audit-entry.js';
import { storedAuditEntry } from './audit-event.js';
import type { ExchangeAgent, ExchangeRecord } from './exchange.js';

/** What caused a change: the request (or the request that queued the job) and who acted. */
export interface ChangeCause {
  readonly requestId: string;
  readonly agent: ExchangeAgent;
  /** The person the change is about, when there is one (`Patient/…`, `Person/…`). */
  readonly subject?: string;
}

/** The outbox stream of one hash tag (the tag of the state it records changes of). */
export function outboxKey(keys: KeySpace, tag: string): string {
  return keys.key(tag, 'audit-outbox');
}

/** The field/value list of one outbox entry (as XADD takes it), stamped `now` unless the record has a time. */
export function outboxEntryArgs(record: ExchangeRecord, now: Date = new Date()): string[] {
  return entryArgs(storedAuditEntry(record.recorded ? (record as ExchangeRecord & { recorded: string }) : { ...record, recorded: now.toISOString() }));
}

/**
 * Adds a change record to a MULTI (or pipeline) that writes keys of `tag`:
 * EXEC commits the change and its record together.
 */
export function stageChangeRecord(multi: ChainableCommander, keys: KeySpace, tag: string, record: ExchangeRecord): void {
  multi.xadd(outboxKey(keys, tag), '*', ...outboxEntryArgs(record));
}

/**
 * A change record as a committed-change exchange: the request (or job) that
 * caused it, who acted, what changed. Change records carry no maturity criteria:
 * the exchange record of the request or job claims those, so evidence is never
 * counted twice; a change record proves that the change happened.
 */
export function changeRecord(
  cause: Pick<ExchangeRecord, 'requestId' | 'service' | 'agent'>,
  change: Pick<ExchangeRecord, 'subtype' | 'action' | 'entities'> &
    Partial<Pick<ExchangeRecord, 'subject' | 'dataCategory' | 'purpose' | 'outcomeDescription'>>,
  store: string,
): ExchangeRecord {
  return {
    requestId: cause.requestId,
    service: cause.service,
    agent: cause.agent,
    type: 'rest',
    outcome: '0',
    criteria: [],
    trigger: { kind: 'change', store },
    ...change,
  };
}
