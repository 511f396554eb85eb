/**
 * Every Redis key of the audit log, in one place. They share the audit
 * stream's hash tag `{audit}` on purpose: the append script (store.ts) checks,
 * in the same atomic call that appends a batch of leaves, that the batch is
 * exactly the next entries of the stream — on Redis Cluster too (one slot).
 * The log's keys are `…:{audit}:log:…`; the search indexes of the evidence
 * side are `…:{audit}:ix:…`.
 *
 * Storage is tiled, as C2SP tlog-tiles logs are: 256 leaves per tile, each
 * tile a few Redis strings appended to, never one key per leaf. The entries are
 * the audit stream's own; the log keeps hashes and stream ids only.
 */
import { auditStreamKey } from '../../shared/audit/audit-stream.js';
import type { KeySpace } from '../../shared/redis/key-space.js';

export const AUDIT_TAG = 'audit';

export class AuditKeys {
  constructor(readonly space: KeySpace) {}

  /** Stream: the hub's one audit stream (written by every service, shared/audit/audit-client.ts). */
  get stream(): string {
    return auditStreamKey(this.space);
  }
  /** Hash: `size` (leaves appended), `lastId` (stream id of the last leaf). */
  get state(): string {
    return this.space.key(AUDIT_TAG, 'log', 'state');
  }
  /**
   * String: packed 32-byte hashes of one tile at one level. Level 0 holds leaf
   * hashes; level L hash j of tile t is the root of the perfect subtree of
   * 256^L leaves starting at leaf (t·256 + j)·256^L. Appended as they complete.
   */
  hashTile(level: number, tile: number): string {
    return this.space.key(AUDIT_TAG, 'log', 'h', level, tile);
  }
  /**
   * What the log's layout before 2026-12-06 also kept, no longer read or written: a copy of every
   * entry (`…:log:e:<tile>`) and their offsets (`…:log:o:<tile>`). A log written then verifies as it
   * is — its hash and id tiles are unchanged — and these only take memory until deleted.
   */
  formerEntryCopyPatterns(): string[] {
    return ['e', 'o'].map((part) => this.space.key(AUDIT_TAG, 'log', part, '*'));
  }
  /** String: the stream ids of one level-0 tile's entries, each followed by a newline. */
  idTile(tile: number): string {
    return this.space.key(AUDIT_TAG, 'log', 'id', tile);
  }
  /** Sorted set (by lex): `<zero-padded first stream id of a tile>:<tile>` — stream id → tile. */
  get tileStarts(): string {
    return this.space.key(AUDIT_TAG, 'log', 'tiles');
  }
  /** Sorted set: every signed checkpoint ever issued, score its tree size, member `{ note, issued }` JSON. */
  get checkpoints(): string {
    return this.space.key(AUDIT_TAG, 'log', 'checkpoints');
  }
  /** Hash: the outcome of the last full verification (`infoshare audit verify`). */
  get lastVerification(): string {
    return this.space.key(AUDIT_TAG, 'log', 'verified');
  }
}

/** The consumer group the log reads the audit stream with. */
export const LOG_CONSUMER_GROUP = 'audit-log';
