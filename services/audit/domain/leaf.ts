/**
 * Which canonical form a leaf of the log covers, and its hash. An entry's own
 * `v` names its layout (shared/audit/audit-entry.ts), but a log appended
 * before its appender knew layout 2 hashed every entry in layout 1 — whatever
 * it said, and the hub's writers wrote `v` 1 then. The log keeps, in its state,
 * the first position its appender knew layout 2 (`layout2From`, set by the
 * first append of such an appender; absent from a log no such appender has
 * appended to): before it every leaf is layout 1, from it the entry's own.
 *
 * Not a weakness: `v` and the layout's framing are inside the bytes hashed, so
 * rewriting the state's position or an entry's `v` only makes the entries give
 * other hashes than the stored and signed ones — damage verification reports.
 *
 * Pure: no I/O.
 */
import { canonicalEntry, layoutOf, type AuditEntry, type EntryLayout } from '../../../shared/audit/audit-entry.js';
import { leafHashOfText } from './merkle.js';

/** The layout of the leaf at `position`: the entry's own from `layout2From` on (undefined or Infinity: never), layout 1 before. */
export function leafLayoutAt(position: number, entry: Pick<AuditEntry, 'v'>, layout2From: number | undefined): EntryLayout {
  return layout2From !== undefined && position >= layout2From ? layoutOf(entry) : 1;
}

/** The canonical bytes (as text) the leaf of stream entry `id` at `position` covers. */
export function leafCanonical(id: string, entry: AuditEntry, position: number, layout2From: number | undefined): string {
  return canonicalEntry(entry, id, leafLayoutAt(position, entry, layout2From));
}

/** The leaf hash of stream entry `id` at `position`: SHA-256(0x00 || its canonical bytes). */
export function entryLeafHash(id: string, entry: AuditEntry, position: number, layout2From: number | undefined): Buffer {
  return leafHashOfText(leafCanonical(id, entry, position, layout2From));
}
