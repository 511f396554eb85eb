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

/**
 * The framing of `canonicalEntry` around each value: `[["v","` before the first,
 * `"],["recorded","` before the second, …, and `"]]` after the last.
 */
const CANONICAL_FRAMES: readonly Buffer[] = AUDIT_ENTRY_FIELDS.map((name, i) => Buffer.from(`${i === 0 ? '[[' : '"],['}${JSON.stringify(name)},"`));
const CANONICAL_END = Buffer.from('"]]');
const CANONICAL_FRAME_BYTES = CANONICAL_FRAMES.reduce((n, f) => n + f.length, CANONICAL_END.length);

/**
 * How JSON.stringify escapes each byte below 0x80 inside a string: 0 kept as
 * is, 0xff as `\u00xx`, otherwise a backslash and this character.
 */
const JSON_ESCAPES = (() => {
  const table = new Uint8Array(128);
  for (let c = 0; c < 0x20; c++) table[c] = 0xff;
  for (const [c, letter] of [
    [0x08, 'b'],
    [0x09, 't'],
    [0x0a, 'n'],
    [0x0c, 'f'],
    [0x0d, 'r'],
    [0x22, '"'],
    [0x5c, '\\'],
  ] as const) {
    table[c] = letter.charCodeAt(0);
  }
  return table;
})();
const HEX_DIGITS = Buffer.from('0123456789abcdef');

/** Room `writeCanonicalEntry` may need for values of `valueBytes` bytes in all (every byte escaped as `\u00xx`). */
export function canonicalEntryRoom(valueBytes: number): number {
  return CANONICAL_FRAME_BYTES + 6 * valueBytes;
}

/**
 * `canonicalEntry`'s bytes written straight from the bytes of the entry's
 * values, as Redis holds them: `values` gives each layout field's value as
 * `[start, end)` of `source`, in layout order (2 numbers per field). Writes at
 * `out[at]` (room: `canonicalEntryRoom`) and returns where it ended.
 *
 * The same bytes as `Buffer.from(canonicalEntry(entry))` whenever the values
 * are valid UTF-8: every escape JSON.stringify writes is for an ASCII
 * character, and no byte of a multi-byte UTF-8 character is below 0x80. Full
 * verification hashes a million entries this way, without decoding one;
 * callers check `isUtf8` first and use `canonicalEntry` otherwise (decoding
 * replaces invalid bytes, and that is what the log appended).
 */
export function writeCanonicalEntry(source: Uint8Array, values: ArrayLike<number>, out: Uint8Array, at: number): number {
  let o = at;
  for (let field = 0; field < CANONICAL_FRAMES.length; field++) {
    const frame = CANONICAL_FRAMES[field]!;
    out.set(frame, o);
    o += frame.length;
    const end = values[2 * field + 1]!;
    for (let i = values[2 * field]!; i < end; i++) {
      const c = source[i]!;
      const escape = c < 0x80 ? JSON_ESCAPES[c]! : 0;
      if (escape === 0) {
        out[o++] = c;
      } else if (escape !== 0xff) {
        out[o++] = 0x5c;
        out[o++] = escape;
      } else {
        out[o++] = 0x5c;
        out[o++] = 0x75;
        out[o++] = 0x30;
        out[o++] = 0x30;
        out[o++] = HEX_DIGITS[c >> 4]!;
        out[o++] = HEX_DIGITS[c & 0x0f]!;
      }
    }
  }
  out.set(CANONICAL_END, o);
  return o + CANONICAL_END.length;
}

export function eventOfEntry(entry: AuditEntry): AuditEvent {
  return JSON.parse(entry.event) as AuditEvent;
}

