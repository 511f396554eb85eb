/**
 * The layout of one audit stream entry, and its canonical serialisation (the
 * bytes the audit log's leaf hash covers).
 *
 * Every entry has exactly these fields, in this order (absent values are empty
 * strings, so the layout never varies):
 *
 *   v          entry layout version: `4` (written since session 18), `3`
 *              (session 17), `2` (sessions 15-16), `1` before
 *   recorded   AuditEvent.recorded (ISO 8601 instant)
 *   service    the hub service that recorded it (`directory`, `mpi`, …)
 *   outcome    AuditEvent.outcome: `0`, `4`, `8` or `12`
 *   criteria   maturity criteria codes, sorted, comma-separated (`MA-L3,MA-L4`)
 *   requestId  the request id the response carried
 *   agency     the acting agency id (empty before authentication)
 *   subject    the person the exchange is about (`Patient/…`), or empty
 *   event      the full AuditEvent as canonical JSON (below), without `id` —
 *              layout 4: its stored form, each fixed part (coding, agent type,
 *              the hub's own agent and source, criterion extension…) written
 *              as a reference `{"#":n}` into the audit vocabulary
 *              (`vocabulary.ts`); `eventOfEntry` expands them
 *
 * The flat fields are copies for cheap reading (no need to parse the event);
 * `event` is the record. The stream entry id is the AuditEvent's id.
 *
 * How the stream holds them: layouts 3 and 4 in ONE stream field, `entry`, whose value
 * is the fields as one JSON object in this order, each flat value a JSON string
 * as JSON.stringify writes it, the event last as its canonical JSON
 * (`storedEntry`): `{"v":"4","recorded":"…",…,"event":{…}}`. Layouts 1 and 2 as
 * nine stream fields. One field is what full verification reads fastest: Redis
 * serves one value instead of nine, and the verifier hashes it as it is.
 *
 * Canonical JSON: object keys sorted by UTF-16 code units, no whitespace,
 * strings and numbers as `JSON.stringify` writes them (RFC 8785 for the values an
 * AuditEvent holds: strings, booleans, small integers). Re-serialising a parsed
 * event therefore gives the stored bytes back.
 *
 * The canonical entry (`canonicalEntry`), by the entry's own `v`:
 *
 *   layout 1   the JSON array of `[name, value]` pairs in layout order, every
 *              value a JSON string — the event escaped as a string:
 *              `[["v","1"],["recorded","…"],…,["event","{\"action\":…}"]]`
 *   layout 2   the stream id first, then the same pairs, but the event's stored
 *              bytes as they are, a JSON object in the array:
 *              `[["id","1796…-0"],["v","2"],["recorded","…"],…,["event",{"action":…}]]`
 *   layout 3   the stored value with the stream id as its first member:
 *              `{"id":"1796…-0","v":"3","recorded":"…",…,"event":{"action":…}}`
 *   layout 4   the same, `v` 4, the event in its stored form (references and all):
 *              `{"id":"1796…-0","v":"4",…,"event":{"action":"R","agent":[…,{"#":41}],…}}`
 *
 * All are unambiguous whatever the values hold (layouts 1 and 2: every value
 * before the last is a JSON string, which ends at its closing quote, the event
 * is what lies between `["event",` and the final `]]`; layout 3: the id is a
 * JSON string and the rest is the one stored value, read back only when it is
 * exactly what `storedEntry` writes). Layout 2 exists for the verifier: it
 * hashes an entry straight from the bytes Redis sends, the 2.3 KB event copied
 * rather than escaped byte by byte; and its leaf names the AuditEvent id, so an
 * inclusion proof proves which AuditEvent it is. An entry's `v` is inside the
 * bytes hashed, so no entry can be made to pass for another layout. A new
 * layout gets a new `v`; an entry keeps its layout's meaning for ever.
 */
import type { AuditEvent } from 'fhir/r4.js';
import { canonicalJson } from '../canonical-json.js';
import { expandStoredEvent } from './vocabulary.js';

export const AUDIT_ENTRY_VERSION = '4';

/** The canonical forms an entry can have (see the module comment). */
export type EntryLayout = 1 | 2 | 3 | 4;

export const AUDIT_ENTRY_FIELDS = ['v', 'recorded', 'service', 'outcome', 'criteria', 'requestId', 'agency', 'subject', 'event'] as const;
export type AuditEntryField = (typeof AUDIT_ENTRY_FIELDS)[number];
export type AuditEntry = Readonly<Record<AuditEntryField, string>>;

/** Layouts 3 and 4's one stream field, holding `storedEntry`. */
export const STORED_ENTRY_FIELD = 'entry';
/** Stream fields of an entry as the hub writes it (layout 3: one): what the writers' scripts count per entry. */
export const WRITTEN_ENTRY_FIELDS = 1;

/** `field value …` as XADD takes them, in the layout the entry's `v` names: layouts 3 and 4 one field, before them nine. */
export function entryArgs(entry: AuditEntry): string[] {
  if (layoutOf(entry) >= 3) return [STORED_ENTRY_FIELD, storedEntry(entry)];
  return AUDIT_ENTRY_FIELDS.flatMap((name) => [name, entry[name]]);
}

/**
 * Layouts 3 and 4's stored value: the entry's fields as one JSON object, in layout order (`v` first,
 * `event` last), each flat value a JSON string as `JSON.stringify` writes it, the event its
 * canonical JSON as it is: `{"v":"3","recorded":"…",…,"subject":"…","event":{…}}`.
 */
export function storedEntry(entry: AuditEntry): string {
  let text = '{';
  for (const name of AUDIT_ENTRY_FIELDS) text += name === 'event' ? `"event":${entry.event}}` : `${JSON.stringify(name)}:${JSON.stringify(entry[name])},`;
  return text;
}

/** How every layout 3 and layout 4 stored value begins: what full verification checks before hashing one as it is. */
export const STORED_ENTRY_STARTS = ['{"v":"3",', '{"v":"4",'] as const;

/**
 * Reads a layout 3 or 4 stored value back. Throws unless it is exactly what `storedEntry` writes
 * for its fields — each flat value written as JSON.stringify writes it, `v` 3 or 4 — so an entry
 * the log appended always gives its stored bytes back (the leaf covers those bytes).
 */
function parseStoredEntry(value: string): AuditEntry {
  const fields: Partial<Record<AuditEntryField, string>> = {};
  if (!STORED_ENTRY_STARTS.some((start) => value.startsWith(start))) throw new Error(`Audit entry's ${STORED_ENTRY_FIELD} does not begin ${STORED_ENTRY_STARTS.join(' or ')}`);
  let at = 1;
  for (const name of AUDIT_ENTRY_FIELDS) {
    const key = `${JSON.stringify(name)}:`;
    if (!value.startsWith(key, at)) throw new Error(`Audit entry lacks ${name} where layouts 3 and 4 have it`);
    at += key.length;
    if (name === 'event') {
      // The event is a JSON object (its canonical JSON, not parsed here): `{…}` before the value's own closing brace.
      if (value[at] !== '{' || !value.endsWith('}}')) throw new Error('Audit entry lacks its event');
      fields.event = value.slice(at, -1);
      break;
    }
    const end = endOfJsonString(value, at);
    const text = value.slice(at, end);
    const decoded = JSON.parse(text) as string;
    if (JSON.stringify(decoded) !== text) throw new Error(`Audit entry's ${name} is not written as the hub writes it`);
    fields[name] = decoded;
    if (value[end] !== ',') throw new Error(`Audit entry's ${name} is not followed by the next field`);
    at = end + 1;
  }
  return fields as AuditEntry;
}

/** Where the JSON string starting at text[at] ends (just past its closing quote). */
function endOfJsonString(text: string, at: number): number {
  if (text[at] !== '"') throw new Error('Audit entry field is not a JSON string');
  for (let i = at + 1; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x5c) i++;
    else if (c === 0x22) return i + 1;
  }
  throw new Error('Audit entry field is not a JSON string');
}

/** Reads the flat field/value list Redis returns (layouts 3 and 4's one field, or the nine before them). Throws when a layout field is missing. */
export function parseAuditEntry(flat: readonly string[]): AuditEntry {
  if (flat.length === 2 && flat[0] === STORED_ENTRY_FIELD) return parseStoredEntry(flat[1]!);
  const byName = new Map<string, string>();
  for (let i = 0; i + 1 < flat.length; i += 2) byName.set(flat[i] as string, flat[i + 1] as string);
  const missing = AUDIT_ENTRY_FIELDS.filter((name) => !byName.has(name));
  if (missing.length) throw new Error(`Audit entry lacks ${missing.join(', ')}`);
  return Object.fromEntries(AUDIT_ENTRY_FIELDS.map((name) => [name, byName.get(name) as string])) as AuditEntry;
}

/** The layout an entry's own `v` names: 4 for `4`, 3 for `3`, 2 for `2`, otherwise 1 (every entry written before layout 2). */
export function layoutOf(entry: Pick<AuditEntry, 'v'>): EntryLayout {
  return entry.v === '4' ? 4 : entry.v === '3' ? 3 : entry.v === '2' ? 2 : 1;
}

/**
 * The canonical bytes of stream entry `id` (see the module comment), in
 * `layout` — by default the one its `v` names. The audit log passes layout 1
 * for entries appended before it knew layout 2, whatever they say.
 */
export function canonicalEntry(entry: AuditEntry, id: string, layout: EntryLayout = layoutOf(entry)): string {
  if (layout === 1) return JSON.stringify(AUDIT_ENTRY_FIELDS.map((name) => [name, entry[name]]));
  if (layout >= 3) return `{"id":${JSON.stringify(id)},${storedEntry(entry).slice(1)}`;
  let text = `[["id",${JSON.stringify(id)}]`;
  for (const name of AUDIT_ENTRY_FIELDS) text += name === 'event' ? `,["event",${entry.event}]]` : `,[${JSON.stringify(name)},${JSON.stringify(entry[name])}]`;
  return text;
}

/**
 * Reads canonical bytes back (a proof bundle's entry): the entry, and — layout
 * 2 — the stream id its leaf names. Throws when they are not a canonical entry.
 */
export function parseCanonicalEntry(canonical: string): { readonly layout: EntryLayout; readonly id?: string; readonly entry: AuditEntry } {
  const pairs = JSON.parse(canonical) as unknown;
  if (canonical.startsWith('{') && typeof pairs === 'object' && pairs !== null && !Array.isArray(pairs)) return parseCanonicalStored(canonical, pairs as Record<string, unknown>);
  if (!Array.isArray(pairs)) throw new Error('not an audit entry in its canonical form');
  const layout: EntryLayout = pairs.length === AUDIT_ENTRY_FIELDS.length + 1 ? 2 : 1;
  const named = (i: number, name: string, object = false): unknown => {
    const pair = pairs[i] as unknown;
    if (!Array.isArray(pair) || pair.length !== 2 || pair[0] !== name || (object ? typeof pair[1] !== 'object' || pair[1] === null : typeof pair[1] !== 'string')) {
      throw new Error(`audit entry field ${i} is not "${name}"${object ? ' with a JSON object' : ''}`);
    }
    return pair[1];
  };
  if (layout === 1) {
    if (pairs.length !== AUDIT_ENTRY_FIELDS.length) throw new Error('not an audit entry in its canonical form');
    const entry = Object.fromEntries(AUDIT_ENTRY_FIELDS.map((name, i) => [name, named(i, name)])) as AuditEntry;
    if (layoutOf(entry) !== 1) throw new Error('a layout 1 canonical entry says v 2');
    return { layout, entry };
  }
  const id = named(0, 'id') as string;
  const entry = Object.fromEntries(AUDIT_ENTRY_FIELDS.map((name, i) => [name, name === 'event' ? canonicalJson(named(i + 1, name, true)) : named(i + 1, name)])) as AuditEntry;
  if (layoutOf(entry) !== 2) throw new Error('a layout 2 canonical entry says another v');
  if (canonicalEntry(entry, id, 2) !== canonical) throw new Error('its event is not canonical JSON');
  return { layout, id, entry };
}

/** A layout 3 or 4 canonical entry read back: the object `canonicalEntry` writes, and nothing else. */
function parseCanonicalStored(canonical: string, object: Record<string, unknown>): { readonly layout: EntryLayout; readonly id: string; readonly entry: AuditEntry } {
  const { id, event } = object;
  if (typeof id !== 'string' || typeof event !== 'object' || event === null) throw new Error('not an audit entry in its canonical form');
  const entry = Object.fromEntries(
    AUDIT_ENTRY_FIELDS.map((name) => {
      const value = object[name];
      if (name !== 'event' && typeof value !== 'string') throw new Error(`audit entry field "${name}" is not a string`);
      return [name, name === 'event' ? canonicalJson(event) : value];
    }),
  ) as AuditEntry;
  const layout = layoutOf(entry);
  if (layout < 3) throw new Error('a layout 3 or 4 canonical entry says another v');
  if (canonicalEntry(entry, id, layout) !== canonical) throw new Error('not an audit entry in its canonical form (fields, order or event not as written)');
  return { layout, id, entry };
}

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

/**
 * The framing of each layout around the values, value i written after
 * `before[i]`, then `end`. Layout 1: `[["v","` before the first, `"],["recorded","`
 * before the second, …, `"]]` after the last. Layout 2: `[["id","` before the
 * stream id, `"],["v","` before the first value, …, `"],["event",` before the
 * event (not a string: its bytes as they are), `]]` after it.
 */
const FRAMES_1 = { before: AUDIT_ENTRY_FIELDS.map((name, i) => Buffer.from(`${i === 0 ? '[[' : '"],['}${JSON.stringify(name)},"`)), end: Buffer.from('"]]') };
const FRAMES_2 = {
  id: Buffer.from('[["id","'),
  before: AUDIT_ENTRY_FIELDS.map((name) => Buffer.from(`"],[${JSON.stringify(name)},${name === 'event' ? '' : '"'}`)),
  end: Buffer.from(']]'),
};
const FRAME_BYTES = Math.max(...[FRAMES_1, FRAMES_2].map((f) => f.before.reduce((n, b) => n + b.length, f.end.length))) + FRAMES_2.id.length;

/** Room `writeCanonicalEntry` may need for values (and id) of `valueBytes` bytes in all (every byte escaped as `\u00xx`). */
export function canonicalEntryRoom(valueBytes: number): number {
  return FRAME_BYTES + 6 * valueBytes;
}

/** Writes source[start, end) at out[o] as the inside of a JSON string (JSON.stringify's escapes); returns where it ended. */
function writeEscaped(source: Uint8Array, start: number, end: number, out: Uint8Array, o: number): number {
  for (let i = start; i < end; i++) {
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
  return o;
}

/**
 * `canonicalEntry`'s bytes written straight from the bytes of the entry's id
 * and values, as Redis holds them: `values` gives each layout field's value as
 * `[start, end)` of `source`, in layout order (2 numbers per field), then the
 * stream id's (2 more; layout 2 only). Writes at `out[at]` (room:
 * `canonicalEntryRoom`) and returns where it ended.
 *
 * The same bytes as `Buffer.from(canonicalEntry(entry, id, layout))` whenever
 * the values are valid UTF-8: every escape JSON.stringify writes is for an
 * ASCII character, and no byte of a multi-byte UTF-8 character is below 0x80.
 * Full verification hashes a million entries this way, without decoding one;
 * callers check `isUtf8` first and use `canonicalEntry` otherwise (decoding
 * replaces invalid bytes, and that is what the log appended). In layout 2 the
 * event — nine tenths of an entry — is copied, not escaped.
 */
export function writeCanonicalEntry(source: Uint8Array, values: ArrayLike<number>, layout: EntryLayout, out: Uint8Array, at: number): number {
  const fields = AUDIT_ENTRY_FIELDS.length;
  let o = at;
  const frames = layout === 1 ? FRAMES_1 : FRAMES_2;
  if (layout === 2) {
    out.set(FRAMES_2.id, o);
    o = writeEscaped(source, values[2 * fields]!, values[2 * fields + 1]!, out, o + FRAMES_2.id.length);
  }
  for (let field = 0; field < fields; field++) {
    const frame = frames.before[field]!;
    out.set(frame, o);
    o += frame.length;
    const start = values[2 * field]!;
    const end = values[2 * field + 1]!;
    if (layout === 2 && field === fields - 1) {
      out.set(source.subarray(start, end), o);
      o += end - start;
    } else {
      o = writeEscaped(source, start, end, out, o);
    }
  }
  out.set(frames.end, o);
  return o + frames.end.length;
}

/**
 * Layout 3 and 4's canonical bytes written straight from the bytes Redis holds: `{"id":"` + the stream id
 * (source[idStart, idEnd), escaped) + `",` + the stored value after its `{` (source[valueStart + 1,
 * valueEnd)), at `out[at]` (room: `canonicalEntryRoom`); returns where it ended. The same bytes as
 * `canonicalEntry(parseAuditEntry(…), id, 3)` for every value the hub writes: the value is
 * copied, never parsed or escaped. Callers check it begins as `STORED_ENTRY_STARTS` and is UTF-8.
 */
export function writeStoredCanonical(source: Uint8Array, idStart: number, idEnd: number, valueStart: number, valueEnd: number, out: Uint8Array, at: number): number {
  out.set(ID_OPEN, at);
  let o = writeEscaped(source, idStart, idEnd, out, at + ID_OPEN.length);
  out[o++] = 0x22; // "
  out[o++] = 0x2c; // ,
  out.set(source.subarray(valueStart + 1, valueEnd), o);
  return o + valueEnd - valueStart - 1;
}

const ID_OPEN = Buffer.from('{"id":"');

/** The entry's AuditEvent, in full (layout 4: its vocabulary references expanded). */
export function eventOfEntry(entry: AuditEntry): AuditEvent {
  return JSON.parse(fullEventText(entry)) as AuditEvent;
}

/** The entry's AuditEvent as canonical JSON, in full: what layout 3 stored, and layout 4 stores by reference. */
export function fullEventText(entry: AuditEntry): string {
  return layoutOf(entry) === 4 ? expandStoredEvent(entry.event) : entry.event;
}

