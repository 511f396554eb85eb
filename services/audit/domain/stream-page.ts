/**
 * The leaf hashes of a page of audit stream entries, read from the raw bytes
 * of an XRANGE reply (shared/redis/raw-replies.ts): what full verification
 * hashes, written packed (32 bytes a leaf) as the log's tiles keep them. Each entry's leaf is SHA-256(0x00 || canonicalEntry(entry, id,
 * layout)), the canonical bytes written straight from the id's and values'
 * bytes in the reply (`writeCanonicalEntry`): no string, object or Buffer per
 * field. The layout is the entry's own `v` from the position the log's
 * appender knew layout 2 (`layout2From`), layout 1 before it (domain/leaf.ts).
 * A layout 3 or 4 entry (the hub's since session 17: one field, `entry`) is the
 * cheapest: its stored value is copied behind the stream id and hashed, with
 * no field walked or escaped (`writeStoredCanonical`) — layout 4's vocabulary
 * references as they are (the leaf covers the stored bytes, not their expansion).
 *
 * An entry whose fields are not exactly the layout's, in order, or whose bytes
 * are not valid UTF-8, is hashed the way the log's appender hashed it — decoded,
 * parsed by field name, `canonicalEntry` — so the verifier and the appender
 * agree on every entry the appender could have taken. One that is not an audit
 * entry at all (a layout field missing) gets the hash of its raw bytes, which
 * no leaf has.
 *
 * Pure: no I/O.
 */
import { isUtf8 } from 'node:buffer';
import { AUDIT_ENTRY_FIELDS, STORED_ENTRY_FIELD, STORED_ENTRY_STARTS, canonicalEntryRoom, parseAuditEntry, writeCanonicalEntry, writeStoredCanonical, type EntryLayout } from '../../../shared/audit/audit-entry.js';
import { readInteger } from '../../../shared/resp.js';
import { entryLeafHash } from './leaf.js';
import { HASH_BYTES, sha256Of, writeSha256 } from './merkle.js';

const CR = 0x0d;
const FIELD_NAMES = AUDIT_ENTRY_FIELDS.map((name) => Buffer.from(name));
const V_FIELD = AUDIT_ENTRY_FIELDS.indexOf('v');
const LAYOUT_2 = 0x32; // `2`
const LAYOUT_3 = 0x33; // `3`
const LAYOUT_4 = 0x34; // `4`
const STORED_NAME = Buffer.from(STORED_ENTRY_FIELD);
const [STORED_START_3, STORED_START_4] = STORED_ENTRY_STARTS.map((start) => Buffer.from(start)) as [Buffer, Buffer];

/** Where a page sits in the log: the position of its first entry, and where layout 2 leaves start (Infinity: none). */
export interface PagePlace {
  readonly firstPosition: number;
  readonly layout2From: number;
}

/** One entry of a page: where its stream id is in the reply, and its index in the page (its leaf hash is at 32 × index of the leaves). */
export type PageVisitor = (reply: Buffer, idStart: number, idEnd: number, index: number) => void;

/**
 * Reads the XRANGE reply's entries in order: their leaf hashes, packed (32
 * bytes each, in order), and each one's stream id handed to `visit`.
 */
export function hashStreamPage(reply: Buffer, place: PagePlace, visit?: PageVisitor): Buffer {
  const walk = new Walk(reply);
  const entries = walk.header(0x2a);
  const leaves = Buffer.allocUnsafe(entries * HASH_BYTES);
  // One check for the whole page; entry by entry only when it fails.
  const allUtf8 = isUtf8(reply);
  // Each field's value as [start, end) of the reply, then the stream id's.
  const values = new Array<number>(2 * FIELD_NAMES.length + 2);
  for (let e = 0; e < entries; e++) {
    const entryStart = walk.at;
    if (walk.header(0x2a) !== 2) throw walk.unexpected('an entry of two parts');
    const idLength = walk.header(0x24);
    const idStart = walk.at;
    walk.skip(idLength);
    values[2 * FIELD_NAMES.length] = idStart;
    values[2 * FIELD_NAMES.length + 1] = idStart + idLength;
    const position = place.firstPosition + e;
    const fieldCount = walk.header(0x2a);
    const fieldsStart = walk.at;
    if (fieldCount === 2 && position >= place.layout2From) {
      // Layouts 3 and 4: one field, its value hashed as it is, behind the stream id (`writeStoredCanonical`).
      const nameLength = walk.header(0x24);
      const named = sameBytes(reply, walk.at, nameLength, STORED_NAME);
      walk.skip(nameLength);
      const valueLength = walk.header(0x24);
      const valueStart = walk.at;
      walk.skip(valueLength);
      const stored = sameBytes(reply, valueStart, STORED_START_4.length, STORED_START_4) || sameBytes(reply, valueStart, STORED_START_3.length, STORED_START_3);
      if (named && stored && (allUtf8 || isUtf8(reply.subarray(entryStart, walk.at)))) {
        writeStoredLeaf(reply, idStart, idStart + idLength, valueStart, valueStart + valueLength, leaves, e * HASH_BYTES);
      } else {
        leafOfOddEntry(reply, idStart, idLength, fieldsStart, walk.at, fieldCount, position, place.layout2From).copy(leaves, e * HASH_BYTES);
      }
      visit?.(reply, idStart, idStart + idLength, e);
      continue;
    }
    let layout = fieldCount === 2 * FIELD_NAMES.length;
    for (let f = 0; f < fieldCount; f += 2) {
      const nameLength = walk.header(0x24);
      if (layout && !sameBytes(reply, walk.at, nameLength, FIELD_NAMES[f / 2]!)) layout = false;
      walk.skip(nameLength);
      const valueLength = walk.header(0x24);
      if (layout) {
        values[f] = walk.at;
        values[f + 1] = walk.at + valueLength;
      }
      walk.skip(valueLength);
    }
    // Nine fields saying v 3 or 4 (never written so) are layout 3 or 4 to the appender: hashed as it hashed them, below.
    const v = values[2 * V_FIELD]!;
    const saysStoredLayout = layout && position >= place.layout2From && values[2 * V_FIELD + 1] === v + 1 && (reply[v] === LAYOUT_3 || reply[v] === LAYOUT_4);
    if (layout && !saysStoredLayout && (allUtf8 || isUtf8(reply.subarray(entryStart, walk.at)))) {
      const entryLayout: EntryLayout = position >= place.layout2From && values[2 * V_FIELD + 1] === v + 1 && reply[v] === LAYOUT_2 ? 2 : 1;
      writeLeafOfLayout(reply, values, entryLayout, walk.at - fieldsStart + idLength, leaves, e * HASH_BYTES);
    } else {
      leafOfOddEntry(reply, idStart, idLength, fieldsStart, walk.at, fieldCount, position, place.layout2From).copy(leaves, e * HASH_BYTES);
    }
    visit?.(reply, idStart, idStart + idLength, e);
  }
  return leaves;
}

/** One entry's leaf input (0x00 || canonical bytes), reused entry after entry (one per thread), grown as needed. */
let leafInput = Buffer.allocUnsafe(1 << 16);

function writeLeafOfLayout(reply: Buffer, values: readonly number[], layout: EntryLayout, valueBytes: number, out: Buffer, at: number): void {
  const room = 1 + canonicalEntryRoom(valueBytes);
  if (room > leafInput.length) leafInput = Buffer.allocUnsafe(2 * room);
  leafInput[0] = 0x00;
  const end = writeCanonicalEntry(reply, values, layout, leafInput, 1);
  writeSha256(leafInput.subarray(0, end), out, at);
}

function writeStoredLeaf(reply: Buffer, idStart: number, idEnd: number, valueStart: number, valueEnd: number, out: Buffer, at: number): void {
  const room = 1 + canonicalEntryRoom(idEnd - idStart + valueEnd - valueStart);
  if (room > leafInput.length) leafInput = Buffer.allocUnsafe(2 * room);
  leafInput[0] = 0x00;
  const end = writeStoredCanonical(reply, idStart, idEnd, valueStart, valueEnd, leafInput, 1);
  writeSha256(leafInput.subarray(0, end), out, at);
}

/** The leaf hash of an entry not in the exact layout or not valid UTF-8: as the appender made it (decoded, by field name). */
function leafOfOddEntry(reply: Buffer, idStart: number, idLength: number, fieldsStart: number, fieldsEnd: number, fieldCount: number, position: number, layout2From: number): Buffer {
  const walk = new Walk(reply, fieldsStart);
  const flat: string[] = [];
  for (let f = 0; f < fieldCount; f++) {
    const length = walk.header(0x24);
    flat.push(reply.toString('utf8', walk.at, walk.at + length));
    walk.skip(length);
  }
  try {
    return entryLeafHash(reply.toString('latin1', idStart, idStart + idLength), parseAuditEntry(flat), position, layout2From);
  } catch {
    // Not an audit entry: the log never appended it, so no leaf hash may match it.
    return sha256Of(Buffer.concat([Buffer.from([0xff]), reply.subarray(fieldsStart, fieldsEnd)]));
  }
}

function sameBytes(reply: Buffer, at: number, length: number, expected: Buffer): boolean {
  if (length !== expected.length) return false;
  for (let i = 0; i < length; i++) if (reply[at + i] !== expected[i]) return false;
  return true;
}

/** A cursor over RESP bytes already known to be one complete reply. */
class Walk {
  constructor(
    private readonly reply: Buffer,
    public at = 0,
  ) {}

  /** Reads a `*n` or `$n` header of the given type; returns n. */
  header(type: number): number {
    const b = this.reply;
    if (b[this.at] !== type) throw this.unexpected(type === 0x2a ? 'an array' : 'a bulk string');
    let cr = this.at + 1;
    while (b[cr] !== CR) cr++;
    const n = readInteger(b, this.at + 1, cr);
    if (n < 0) throw this.unexpected('a value, not nil');
    this.at = cr + 2;
    return n;
  }

  /** Past a bulk string's bytes and their CRLF. */
  skip(length: number): void {
    this.at += length + 2;
  }

  unexpected(what: string): Error {
    return new Error(`not an XRANGE reply of audit entries: expected ${what} at byte ${this.at}`);
  }
}
