/**
 * The layout of one audit stream entry, and its canonical serialisation.
 *
 * Layout v1 — every entry has exactly these fields, in this order (absent
 * values are empty strings, so the layout never varies):
 *
 *   v          entry layout version, `1`
 *   recorded   AuditEvent.recorded (ISO 8601 instant)
 *   service    the hub service that recorded it (`directory`, `mpi`, …)
 *   outcome    AuditEvent.outcome: `0`, `4`, `8` or `12`
 *   criteria   maturity criteria codes, sorted, comma-separated (`MA-L3,MA-L4`)
 *   requestId  the request id the response carried
 *   agency     the acting agency id (empty before authentication)
 *   subject    the person the exchange is about (`Patient/…`), or empty
 *   event      the full AuditEvent as canonical JSON (below), without `id`
 *
 * The flat fields are copies for cheap scanning (XRANGE without parsing JSON);
 * `event` is the record. The stream entry id is the AuditEvent's id.
 *
 * Canonical JSON: object keys sorted by UTF-16 code units, no whitespace,
 * strings and numbers as `JSON.stringify` writes them (RFC 8785 for the values an
 * AuditEvent holds: strings, booleans, small integers). Re-serialising a parsed
 * event therefore gives the stored bytes back.
 *
 * For the hash chain (a later audit service): `canonicalEntry(entry)` is the
 * JSON array of `[name, value]` pairs in layout order — unambiguous whatever the
 * values contain — and a chainer computes `hash(prevHash + canonicalEntry(entry))`
 * reading the stream in id order. The stream id is not part of it, so a chain
 * can be re-verified from an export. A new layout gets a new `v`; a v1 entry
 * keeps its v1 meaning for ever.
 */
import type { AuditEvent } from 'fhir/r4.js';
import type { ExchangeRecord } from './exchange.js';
import { criteriaOfEvent } from './audit-event.js';
import { canonicalJson } from '../canonical-json.js';

export const AUDIT_ENTRY_VERSION = '1';

export const AUDIT_ENTRY_FIELDS = ['v', 'recorded', 'service', 'outcome', 'criteria', 'requestId', 'agency', 'subject', 'event'] as const;
export type AuditEntryField = (typeof AUDIT_ENTRY_FIELDS)[number];
export type AuditEntry = Readonly<Record<AuditEntryField, string>>;

/** The stream entry for an exchange and the AuditEvent made from it. */
export function toAuditEntry(exchange: ExchangeRecord, event: AuditEvent): AuditEntry {
  return {
    v: AUDIT_ENTRY_VERSION,
    recorded: event.recorded,
    service: exchange.service,
    outcome: event.outcome ?? '',
    criteria: criteriaOfEvent(event).join(','),
    requestId: exchange.requestId,
    agency: exchange.agent.agency ?? '',
    subject: exchange.subject ?? '',
    event: canonicalJson(event),
  };
}

/** `field value field value …` in layout order, as XADD takes them. */
export function entryArgs(entry: AuditEntry): string[] {
  return AUDIT_ENTRY_FIELDS.flatMap((name) => [name, entry[name]]);
}

/** Reads the flat field/value list Redis returns. Throws when a layout field is missing. */
export function parseAuditEntry(flat: readonly string[]): AuditEntry {
  const byName = new Map<string, string>();
  for (let i = 0; i + 1 < flat.length; i += 2) byName.set(flat[i] as string, flat[i + 1] as string);
  const missing = AUDIT_ENTRY_FIELDS.filter((name) => !byName.has(name));
  if (missing.length) throw new Error(`Audit entry lacks ${missing.join(', ')}`);
  return Object.fromEntries(AUDIT_ENTRY_FIELDS.map((name) => [name, byName.get(name) as string])) as AuditEntry;
}

/** The bytes a hash chain covers for one entry (see the module comment). */
export function canonicalEntry(entry: AuditEntry): string {
  return JSON.stringify(AUDIT_ENTRY_FIELDS.map((name) => [name, entry[name]]));
}

export function eventOfEntry(entry: AuditEntry): AuditEvent {
  return JSON.parse(entry.event) as AuditEvent;
}

