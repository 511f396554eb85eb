/**
 * Every Redis key of the MPI, in one place. The whole index shares the hash tag
 * `{mpi}` so that moving a record between Persons, and a record with its
 * blocking entries, are single atomic scripts/transactions. On Redis Cluster the
 * index is therefore one slot (one master's memory and load): shard by a
 * per-partnership tag only when measurement says that is the limit.
 */
import { outboxKey } from '../../shared/audit/outbox.js';
import type { KeySpace } from '../../shared/redis/connection.js';

const TAG = 'mpi';

export class MpiKeys {
  constructor(private readonly space: KeySpace) {}

  /** Hash: record id → current Patient JSON. */
  get records(): string {
    return this.space.key(TAG, 'pat');
  }
  /** Hash: versionId → Patient JSON, older versions of one record (only once it is updated). */
  recordHistory(recordId: string): string {
    return this.space.key(TAG, 'pat', recordId, 'hist');
  }
  /** Hash: record id → MatchFeatures JSON. */
  get features(): string {
    return this.space.key(TAG, 'feat');
  }
  /** Hash: blocking key → `<id>,<id>,…`, the records sharing that key (see store.ts). */
  get blocks(): string {
    return this.space.key(TAG, 'bl');
  }
  /**
   * Hash: the blocking index as written before session 23 (`<count>:<id>,<id>,…`). Its fields move
   * to `blocks` as writes touch them and at start-up (MpiStore.migrateLegacyBlocks); gone once empty.
   */
  get legacyBlocks(): string {
    return this.space.key(TAG, 'blk');
  }
  /**
   * String: one search term's record list (`,<id>,<id>…`), a key per term so a bulk load
   * appends in place. `field` is the term as domain/search-terms.ts names it (`f:smith`);
   * the store's script names the key from `searchTerm('')` and the term.
   */
  searchTerm(field: string): string {
    return this.space.key(TAG, 'st', field);
  }
  /**
   * String: one bucket of the search index, the values in use of one code starting alike
   * (`␟value␟value…`); `bucket` is `<code>:<bucket>` (`f:sm`); the store's script names the key from `searchBucket('')` and it.
   */
  searchBucket(bucket: string): string {
    return this.space.key(TAG, 'sb', bucket);
  }
  /** Hash: the search index's roots, the buckets in use of each code (domain/search-terms.ts). */
  get search(): string {
    return this.space.key(TAG, 'find');
  }
  /** Hash: record id → `<personId>|<assurance>|<how>`. */
  get links(): string {
    return this.space.key(TAG, 'link');
  }
  /** Hash: member record id → `<assurance>|<how>` for one Person. */
  person(personId: string): string {
    return this.space.key(TAG, 'person', personId);
  }
  /** Hash: person id → surviving person id, for Persons merged away. */
  get replacedBy(): string {
    return this.space.key(TAG, 'replaced-by');
  }
  /** Hash: `<idA>|<idB>` (sorted) → manual decision JSON. Ids are record ids, or Person ids (`per-…`) for a merge question. */
  get decisions(): string {
    return this.space.key(TAG, 'decision');
  }
  /** Hash: `<idA>|<idB>` (sorted) → open review Task id (so a pair is asked once); record ids, or Person ids for a merge question. */
  get openReviews(): string {
    return this.space.key(TAG, 'review');
  }
  /** String: holder token of the index write lock (see index-lock.ts). */
  get writeLock(): string {
    return this.space.key(TAG, 'lock');
  }
  /** Sorted set: tokens waiting for the index write lock, by arrival. */
  get writeLockQueue(): string {
    return this.space.key(TAG, 'lock', 'queue');
  }
  /** Hash: waiting token → when it last asked for the index write lock. */
  get writeLockSeen(): string {
    return this.space.key(TAG, 'lock', 'seen');
  }
  /**
   * Hash: chunk id → the JSON of a registration chunk whose records are written
   * but whose links, moves, Tasks and markers may not be (registration.ts): written
   * with the records, removed with the chunk's change record and counters.
   */
  get journal(): string {
    return this.space.key(TAG, 'journal');
  }
  /** Stream: change records committed with index changes (shared/audit/outbox.ts). */
  get outbox(): string {
    return outboxKey(this.space, TAG);
  }
  /** Hash: model version (1, 2, …) → the estimated matching model with its report (model-versions.ts). */
  get modelVersions(): string {
    return this.space.key(TAG, 'model', 'versions');
  }
  /** String: the model version in use (absent: version 0, the configured model). */
  get activeModel(): string {
    return this.space.key(TAG, 'model', 'active');
  }
  /**
   * String: the last refused estimation, `<version in use>|<records>` — the next automatic attempt
   * waits until the index has grown by the share from there (model-estimation.ts).
   */
  get modelRefusal(): string {
    return this.space.key(TAG, 'model', 'refused');
  }
  /** Hash of counters for the matching report. */
  get stats(): string {
    return this.space.key(TAG, 'stats');
  }
}
