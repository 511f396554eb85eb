/**
 * Where the simulator's exchanges go: its log, not the hub's audit trail.
 *
 * The simulator stands in for the agencies' own systems, which keep their own
 * records; writing its side into the hub's trail would count each delivery
 * twice and make the hub's evidence depend on a test double. The hub audits
 * its side of every delivery (the outbound call, the acknowledgement) itself.
 * The shared HTTP shell still describes every exchange, so each is logged as
 * one JSON line with what the audit record would have said.
 */
import { randomUUID } from 'node:crypto';
import type { AuditSink, ExchangeRecord } from '../../shared/audit/exchange.js';
import type { Logger } from '../../shared/log.js';

export class ExchangeLog implements AuditSink {
  constructor(private readonly log: Logger) {}

  record(exchange: ExchangeRecord): Promise<string> {
    const { requestId, subtype, outcome, outcomeDescription, httpStatus, method, path, agent, subject, entities } = exchange;
    this.log.info({ exchange: { requestId, subtype, outcome, outcomeDescription, httpStatus, method, path, agent, subject, entities } }, 'agency-sim exchange');
    return Promise.resolve(randomUUID());
  }
}
