/**
 * Redis key names of the FHIR resource store, in one place.
 *
 * Every key of one resource type shares one hash tag, `{fhir:<Type>}`, because a
 * write moves the old version to history, replaces the current version and
 * rewrites that resource's search-index entries in one Lua script — and a script
 * may only touch keys of one Cluster slot. The trade-off: all resources of a type
 * live on one Cluster master. At directory and plans scale (thousands of
 * resources per type) that is a fraction of one master's capacity; a type that
 * outgrows it would need its own sharding scheme (tag per id, index elsewhere).
 *
 * Layout under `<prefix>:{fhir:<Type>}:`
 * - `cur`            hash   id → JSON of the current version (or a deletion tombstone)
 * - `hist`           hash   `<id>/<versionId>` → JSON of an older version; the current one is never stored twice
 * - `man`            hash   id → manifest: current versionId, deleted flag, content hash, index entries written
 * - `live`           zset   ids of resources not deleted (score 0, lexical order = stable paging order)
 * - `ix:<param>`     zset   token/reference/string index, members `<value>\x1f<id>` (score 0, lexical ranges)
 * - `ix:<param>:lo`  zset   date index, members `<id>\x1f<n>` scored by the start of the value's range (epoch ms)
 * - `ix:<param>:hi`  zset   the same members scored by the end of the value's range
 * - `proj`           hash   id → the type's projection of the current version (only types declaring one)
 * - `audit-outbox`   stream change records committed with each write (shared/audit/outbox.ts)
 * - `audit-outbox:relaying` string  the lease of the relay pass moving them (shared/audit/outbox-relay.ts; seconds)
 */
import { outboxKey } from '../audit/outbox.js';
import type { KeySpace } from '../redis/connection.js';

/** Separates a value from an id inside an index member; never occurs in either (control characters are stripped). */
export const MEMBER_SEPARATOR = '\x1f';

export class ResourceKeys {
  readonly current: string;
  readonly history: string;
  readonly manifest: string;
  readonly live: string;
  /** id → the projection of the current version (`ResourceTypeDefinition.projection`). */
  readonly projection: string;
  /** The audit outbox of this type's slot: each write's change record commits with it. */
  readonly outbox: string;

  constructor(
    private readonly space: KeySpace,
    readonly type: string,
    /** Hash-tag family; services sharing a prefix but not a type's data can use their own. */
    private readonly family = 'fhir',
  ) {
    this.current = this.part('cur');
    this.history = this.part('hist');
    this.manifest = this.part('man');
    this.live = this.part('live');
    this.projection = this.part('proj');
    this.outbox = outboxKey(space, `${family}:${type}`);
  }

  /** The sorted set holding one index (`name` for lexical indexes, `name:lo`/`name:hi` for dates). */
  index(logicalName: string): string {
    return this.part('ix', logicalName);
  }

  /** Field of the history hash holding one older version. */
  static historyField(id: string, versionId: string | number): string {
    return `${id}/${versionId}`;
  }

  private part(...parts: string[]): string {
    return this.space.key(`${this.family}:${this.type}`, ...parts);
  }
}
