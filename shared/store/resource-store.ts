/**
 * A versioned FHIR resource store on Redis: create, read, vread, update with
 * If-Match, delete, history and search, for the types a service declares
 * (search-params.ts). Key layout and the Cluster trade-off: keys.ts.
 *
 * - Every write is one Lua script call (scripts.ts): version check, history,
 *   current version and search index change together or not at all. Concurrent
 *   writes on one connection are pipelined by ioredis, so load many resources
 *   with `Promise.all`, not one awaited write after another.
 * - read and vread are one round trip; search is two (index ranges, then the page
 *   of resources). Search is not a snapshot: a resource changed between the two
 *   trips is returned as it is now, and one deleted in between is dropped.
 * - The store sets `meta.versionId` (1, 2, 3…) and `meta.lastUpdated` (this
 *   process's clock); anything a client sent there is replaced.
 * - The HTTP layer validates resources, builds Bundles and ETags; the store only
 *   refuses what would corrupt it (wrong type, bad id).
 */
import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { AuditAction } from '../audit/exchange.js';
import { changeRecord, outboxEntryArgs, type ChangeCause } from '../audit/outbox.js';
import type { OutboxRelay } from '../audit/outbox-relay.js';
import type { ServiceName } from '../config.js';
import { badRequest, conflict, gone, notFound, preconditionFailed, type OperationOutcomeError } from '../fhir/outcome.js';
import type { KeySpace } from '../redis/connection.js';
import { contentHash } from './content-hash.js';
import { ResourceKeys } from './keys.js';
import { historyScript, indexedScript, writeScript } from './scripts.js';
import {
  indexEntries,
  indexNames,
  LAST_UPDATED,
  referenceKey,
  type IndexEntry,
  type ResourceOf,
  type ResourceType,
  type ResourceTypeDefinition,
} from './search-params.js';
import { inPlanOrder, lexBounds, matchingIds, MAX_COUNT, planRanges, planSearch, scoreBounds, type IndexRange, type SearchPlan, type SearchQuery } from './search-plan.js';
import { conditionText, preconditionArg, versionCondition } from './version.js';
import { copySpellings, parseKeepingSpellings, stringifyKeepingSpellings } from '../fhir/number-spelling.js';

export type WriteOutcome = 'created' | 'updated' | 'unchanged';

export interface WriteResult<T> {
  /** The stored version, with `id`, `meta.versionId` and `meta.lastUpdated`. */
  readonly resource: T;
  readonly outcome: WriteOutcome;
}

export interface HistoryEntry<T> {
  readonly versionId: string;
  readonly lastUpdated: string;
  /** True for the version a delete wrote; it has no resource. */
  readonly deleted: boolean;
  readonly resource?: T;
}

/** One page of search results; the HTTP layer turns it into a searchset Bundle (`shared/fhir/bundle.ts` SearchPage). */
export interface SearchResult<T> {
  readonly resources: T[];
  /** Absent when not asked for (`_total=none`, or `total: false` for consent-filtered searches). */
  readonly total?: number;
  readonly offset: number;
  /** The page size asked for (`_count`). */
  readonly count: number;
}

export interface DeleteResult {
  /** False when there was nothing to delete (never existed, or already deleted). */
  readonly deleted: boolean;
  /** The version the deletion wrote. */
  readonly versionId?: string;
}

export interface WriteOptions {
  /**
   * What caused the write (request or job id, who acted). With `audit` set on
   * the store, every write must carry one: its change record commits with it.
   */
  readonly cause?: ChangeCause;
  /**
   * Relay the change record to the audit stream before returning (default). A
   * caller writing many resources on a serial path (the MPI's registration under
   * its index lock) passes false and relays once afterwards; the record is
   * committed with the write either way.
   */
  readonly relayNow?: boolean;
}

export interface UpdateOptions extends WriteOptions {
  /** `If-Match` as sent: the version (ETag `W/"3"`, or a list of them) the client last saw, or `*`; when it does not hold → 412. */
  readonly ifMatch?: string | undefined;
  /** `If-None-Match` as sent (`*`: only if there is none; versions: only if the current is none of them); when it holds → 412. */
  readonly ifNoneMatch?: string | undefined;
  /** When false, updating a missing id is a 404 (a deleted one a 410) instead of creating it. Default true. */
  readonly allowCreate?: boolean;
}

/** How a service's store audits its writes (shared/audit/outbox.ts). */
export interface StoreAudit {
  readonly service: ServiceName;
  /** Moves change records on to the audit stream right after each write (the relay's timer catches up otherwise). */
  readonly relay?: OutboxRelay;
}

export interface ResourceStoreOptions {
  /** Hash-tag family of the keys (`{<family>:<Type>}`); default `fhir`. */
  readonly family?: string;
  /** When set, every write commits a change record in its slot's outbox, atomically with the write. */
  readonly audit?: StoreAudit;
}

/**
 * How many times a conditional create re-runs its search when the type was written in between (each time
 * another write won the race); past that the client is asked to retry (409).
 */
const CONDITIONAL_CREATE_ATTEMPTS = 10;

/** The write script refused a write because the type's revision moved since the caller's read. */
class RevisionMoved extends Error {}

/** FHIR ids: 1-64 of letters, digits, `-` and `.`. */
const ID = /^[A-Za-z0-9\-.]{1,64}$/;
/**
 * `.` and `..` match R4's id pattern but are path steps: every URL resolves `/fhir/Organization/..` to `/fhir/`, so a
 * resource by that id could be written (`PUT /fhir/Organization/..` created one until 2026-12-07) and never read back,
 * its `Location` and `fullUrl` naming another resource.
 */
const DOT_SEGMENT = /^\.\.?$/;

interface Tombstone {
  readonly deleted: true;
  readonly versionId: string;
  readonly lastUpdated: string;
}

interface ScriptWrite {
  readonly ifMatch?: string | undefined;
  readonly ifNoneMatch?: string | undefined;
  readonly mayCreate?: boolean;
  /** Write only if the type's revision (`#rev`) is still this one: nothing of the type written since it was read. */
  readonly revision?: string;
  readonly hash?: string;
  /** The stored JSON is `head + versionId + tail`. */
  readonly head: string;
  readonly tail: string;
  readonly entries?: readonly IndexEntry[];
  /** The new version's projection, for a type that keeps one (a delete removes it). */
  readonly projection?: string;
  /** The change record's outbox fields (empty: not audited). */
  readonly record?: readonly string[];
}

interface TypeState {
  readonly definition: ResourceTypeDefinition;
  readonly keys: ResourceKeys;
  readonly indexNames: readonly string[];
  /** KEYS of the write script, in order. */
  readonly writeKeys: readonly string[];
}

type AnyResource = ResourceOf<ResourceType>;

/**
 * The 404 of a resource (or version) the store does not hold. A service answers a
 * resource the caller may not see with this same answer, so a refusal never tells
 * that the resource exists.
 */
export function unknownResource(type: string, id: string, versionId?: string): OperationOutcomeError {
  return notFound(`${type}/${id}${versionId !== undefined ? `/_history/${versionId}` : ''} is not known`);
}

export class ResourceStore {
  private readonly types = new Map<string, TypeState>();
  private readonly audit: StoreAudit | undefined;

  constructor(
    private readonly redis: Redis,
    space: KeySpace,
    definitions: readonly ResourceTypeDefinition[],
    options: ResourceStoreOptions = {},
  ) {
    this.audit = options.audit;
    for (const definition of definitions) {
      if (this.types.has(definition.type)) throw new Error(`Resource type ${definition.type} is declared twice`);
      const keys = new ResourceKeys(space, definition.type, options.family);
      const names = indexNames(definition);
      this.types.set(definition.type, {
        definition,
        keys,
        indexNames: names,
        writeKeys: [keys.current, keys.history, keys.manifest, keys.live, keys.outbox, keys.projection, ...names.map((n) => keys.index(n))],
      });
    }
    this.audit?.relay?.watch(...this.outboxKeys);
  }

  /**
   * A number that changes whenever any resource of `type` is written (created,
   * updated, deleted): callers caching a whole type re-read it only when this moves.
   */
  async revision(type: ResourceType): Promise<string> {
    return (await this.redis.hget(this.state(type).keys.manifest, '#rev')) ?? '0';
  }

  /** The audit outboxes this store writes (one per type's slot), for the service's relay. */
  get outboxKeys(): string[] {
    return [...this.types.values()].map((t) => t.keys.outbox);
  }

  /** The resource types this store serves. */
  get resourceTypes(): string[] {
    return [...this.types.keys()];
  }

  /** The declaration of a served type (for CapabilityStatements); 404 when not served. */
  definition(type: string): ResourceTypeDefinition {
    return this.state(type).definition;
  }

  /** Stores a new resource: a random id unless it carries one (409 if that id is live). */
  async create<T extends AnyResource>(resource: T, options: WriteOptions = {}): Promise<T> {
    const id = resource.id ?? randomUUID();
    const { resource: stored } = await this.write(resource, id, 'create', options);
    return stored;
  }

  /** Replaces the current version (or creates the id, unless `allowCreate: false`); 412 on a stale `ifMatch`. */
  async update<T extends AnyResource>(resource: T, options: UpdateOptions = {}): Promise<WriteResult<T>> {
    return this.write(resource, requireId(resource), 'update', options);
  }

  /** Creates or updates by id, writing no new version when the content (ignoring meta.versionId/lastUpdated) is unchanged. */
  async upsert<T extends AnyResource>(resource: T, options: WriteOptions = {}): Promise<WriteResult<T>> {
    return this.write(resource, requireId(resource), 'upsert', options);
  }

  /** Deletes a resource (its history stays); `deleted` is false when it was already deleted or never existed. */
  async delete(type: ResourceType, id: string, options: Pick<UpdateOptions, 'ifMatch' | 'ifNoneMatch' | 'cause'> = {}): Promise<DeleteResult> {
    const state = this.state(type);
    if (!ID.test(id)) return { deleted: false };
    const lastUpdated = new Date().toISOString();
    const [status, version] = await this.runWrite(state, id, 'delete', {
      ifMatch: options.ifMatch,
      ifNoneMatch: options.ifNoneMatch,
      // The deletion is a version too: a tombstone in `cur`, moved to history like any other.
      head: '{"deleted":true,"versionId":"',
      tail: `","lastUpdated":"${lastUpdated}"}`,
      record: this.changeRecordOf(type, id, 'delete', options.cause),
    });
    if (status === 'ok') {
      await this.afterWrite(options);
      return { deleted: true, versionId: version };
    }
    if (status === 'stale') throw stale(type, id, options.ifMatch, version);
    if (status === 'exists') throw noneMatchHeld(type, id, options.ifNoneMatch, version);
    return { deleted: false };
  }

  /** The current version; 404 when unknown, 410 when deleted. */
  async read<K extends ResourceType>(type: K, id: string): Promise<ResourceOf<K>> {
    const state = this.state(type);
    const json = ID.test(id) ? await this.redis.hget(state.keys.current, id) : null;
    const stored = json === null ? undefined : parseStored(json);
    if (!stored) throw unknownResource(type, id);
    if (isTombstone(stored)) throw gone(`${type}/${id} was deleted`);
    return stored as ResourceOf<K>;
  }

  /** Current versions of many ids in one round trip; `undefined` where unknown or deleted. */
  async readMany<K extends ResourceType>(type: K, ids: readonly string[]): Promise<(ResourceOf<K> | undefined)[]> {
    const state = this.state(type);
    if (ids.length === 0) return [];
    const jsons = await this.redis.hmget(state.keys.current, ...ids);
    return jsons.map((json) => {
      const stored = json === null ? undefined : parseStored(json);
      return stored && !isTombstone(stored) ? (stored as ResourceOf<K>) : undefined;
    });
  }

  /** One version; 404 when that version does not exist, 410 when it is the version a delete wrote. */
  async vread<K extends ResourceType>(type: K, id: string, versionId: string): Promise<ResourceOf<K>> {
    const state = this.state(type);
    if (!ID.test(id) || !/^\d{1,15}$/.test(versionId)) throw unknownResource(type, id, versionId);
    // Current first: if it has moved on since, the version asked for is already in history.
    const replies = await this.redis
      .multi()
      .hget(state.keys.current, id)
      .hget(state.keys.history, ResourceKeys.historyField(id, versionId))
      .exec();
    for (const [error, json] of replies ?? []) {
      if (error) throw error;
      const stored = typeof json === 'string' ? parseStored(json) : undefined;
      if (stored && versionOf(stored) === versionId) {
        if (isTombstone(stored)) throw gone(`${type}/${id} was deleted in version ${versionId}`);
        return stored as ResourceOf<K>;
      }
    }
    throw unknownResource(type, id, versionId);
  }

  /** Every version, newest first (deletions included as entries without a resource); 404 when the id was never used. */
  async history<K extends ResourceType>(type: K, id: string): Promise<HistoryEntry<ResourceOf<K>>[]> {
    const state = this.state(type);
    const { current, history, manifest } = state.keys;
    const jsons = ID.test(id) ? ((await historyScript.run(this.redis, [current, history, manifest], [id])) as string[]) : [];
    if (jsons.length === 0) throw unknownResource(type, id);
    return jsons.flatMap((json): HistoryEntry<ResourceOf<K>>[] => {
      const stored = json ? parseStored(json) : undefined;
      if (!stored) return [];
      if (isTombstone(stored)) return [{ versionId: stored.versionId, lastUpdated: stored.lastUpdated, deleted: true }];
      const resource = stored as ResourceOf<K>;
      return [{ versionId: resource.meta?.versionId ?? '', lastUpdated: resource.meta?.lastUpdated ?? '', deleted: false, resource }];
    });
  }

  /**
   * A page of live resources matching a FHIR search query (search-plan.ts has the
   * semantics), in stable id order. `total: false` leaves the total out whatever
   * the query says (for searches whose results are filtered afterwards).
   */
  async search<K extends ResourceType>(
    type: K,
    query: SearchQuery = {},
    options: { total?: boolean } = {},
  ): Promise<SearchResult<ResourceOf<K>>> {
    const state = this.state(type);
    const plan = planSearch(state.definition, query);
    const withTotal = plan.total && options.total !== false;
    const { offset, count } = plan;
    let pageIds: string[];
    let total: number | undefined;

    if (plan.clauses.length === 0) {
      // Every live resource: page straight from the ordered `live` set.
      const batch = this.redis.multi();
      if (plan.reversed) batch.zrevrangebylex(state.keys.live, '+', '-', 'LIMIT', offset, count);
      else batch.zrangebylex(state.keys.live, '-', '+', 'LIMIT', offset, count);
      if (withTotal) batch.zcard(state.keys.live);
      const replies = replyValues(await batch.exec());
      pageIds = count === 0 ? [] : (replies[0] as string[]);
      total = withTotal ? (replies[1] as number) : undefined;
    } else {
      const ids = inPlanOrder(plan, await this.matchingIdsOf(state, plan));
      pageIds = ids.slice(offset, offset + count);
      total = withTotal ? ids.length : undefined;
    }

    const resources = (await this.readMany(type, pageIds)).filter((r): r is ResourceOf<K> => r !== undefined);
    return total === undefined ? { resources, offset, count } : { resources, total, offset, count };
  }

  /**
   * A search whose results the caller may see only in part (the ISP, consent):
   * every match is read and put to `visible` BEFORE the total is counted and the
   * page cut, so `total` and the pages count only what the caller may see —
   * never revealing what was left out. Reads every match: narrow the query (by
   * subject) where there can be many.
   */
  async searchVisible<K extends ResourceType>(
    type: K,
    query: SearchQuery,
    visible: (resources: readonly ResourceOf<K>[]) => Promise<readonly boolean[]>,
  ): Promise<SearchResult<ResourceOf<K>>> {
    const state = this.state(type);
    const plan = planSearch(state.definition, query);
    const ids = inPlanOrder(plan, plan.clauses.length === 0 ? await this.redis.zrangebylex(state.keys.live, '-', '+') : await this.matchingIdsOf(state, plan));
    const matches: ResourceOf<K>[] = [];
    for (let i = 0; i < ids.length; i += MAX_COUNT) {
      const chunk = await this.readMany(type, ids.slice(i, i + MAX_COUNT));
      matches.push(...chunk.filter((r): r is ResourceOf<K> => r !== undefined));
    }
    const keep = await visible(matches);
    const seen = matches.filter((_, i) => keep[i] === true);
    const { offset, count } = plan;
    const resources = seen.slice(offset, offset + count);
    return plan.total ? { resources, total: seen.length, offset, count } : { resources, offset, count };
  }

  /**
   * Every live resource whose search parameter `param` has exactly `value` (a token or a
   * reference), read with its index in ONE round trip — for a hot path that must read
   * fresh from Redis on every request (the plans service reads a person's Consents for
   * every read it decides). Anything a single exact index range cannot answer is an
   * ordinary search (every match, no paging).
   */
  async findExact<K extends ResourceType>(type: K, param: string, value: string): Promise<ResourceOf<K>[]> {
    const state = this.state(type);
    const range = exactRangeOf(state.definition, param, value);
    if (!range) {
      return (await this.searchVisible(type, { [param]: value }, (all) => Promise.resolve(all.map(() => true)))).resources;
    }
    const jsons = (await indexedScript.run(this.redis, [state.keys.index(range.index), state.keys.current], lexBounds(range))) as (string | null | false)[];
    return jsons.flatMap((json) => {
      const stored = typeof json === 'string' ? parseStored(json) : undefined;
      return stored && !isTombstone(stored) ? [stored as ResourceOf<K>] : [];
    });
  }

  /**
   * `findExact`, answered with each resource's projection (`ResourceTypeDefinition.projection`)
   * instead of the resource: a few hundred bytes to read and parse where the resource is a few
   * kB, still read fresh from Redis, in one round trip. A version stored before its type
   * declared the projection is read whole and projected here.
   */
  async findProjections(type: ResourceType, param: string, value: string): Promise<string[]> {
    const state = this.state(type);
    const project = state.definition.projection;
    if (!project) throw new Error(`${type} declares no projection`);
    const range = exactRangeOf(state.definition, param, value);
    if (!range) return (await this.findExact(type, param, value)).map((resource) => project(resource));
    const { keys } = state;
    const pairs = (await indexedScript.run(this.redis, [keys.index(range.index), keys.projection, keys.current], lexBounds(range))) as (string | null)[];
    const out: string[] = [];
    for (let i = 0; i + 1 < pairs.length; i += 2) {
      const text = pairs[i];
      if (typeof text === 'string') {
        out.push(text);
        continue;
      }
      const json = pairs[i + 1];
      const stored = typeof json === 'string' ? parseStored(json) : undefined;
      if (stored && !isTombstone(stored)) out.push(project(stored));
    }
    return out;
  }

  /** Live resources carrying identifier `system|value` (the type must declare an `identifier` token parameter). */
  async findByIdentifier<K extends ResourceType>(type: K, system: string, value: string): Promise<ResourceOf<K>[]> {
    const param = this.state(type).definition.params.get('identifier');
    if (param?.type !== 'token') throw new Error(`${type} declares no 'identifier' token search parameter`);
    const identifier = `${escapeValue(system)}|${escapeValue(value)}`;
    const { resources } = await this.search(type, { identifier, _count: String(MAX_COUNT) }, { total: false });
    return resources;
  }

  /**
   * FHIR conditional create (`If-None-Exist`): returns the one existing match
   * (outcome `unchanged`), creates when none, 412 when several. Atomic against
   * concurrent creates: the search reads the type's revision with its index
   * ranges (one MULTI), and the create is written only if that revision has not
   * moved (checked in the write script) — otherwise something of the type was
   * written in between, and the search runs again. Two identical requests at
   * once therefore create one resource; the other answers it.
   */
  async conditionalCreate<T extends AnyResource>(resource: T, query: SearchQuery, options: WriteOptions = {}): Promise<WriteResult<T>> {
    const type = resource.resourceType;
    const state = this.state(type);
    const plan = planSearch(state.definition, { ...queryRecord(query), _count: '2', _total: 'none' });
    // Criteria that filter nothing (`_count=1`, `_format=json`, `identifier=` with no value, none at all) would match
    // every resource of the type — read in full to answer a 412 — or, on an empty type, create without a check.
    if (plan.clauses.length === 0) {
      throw badRequest(`If-None-Exist names no search parameter that selects a ${type}: give the criteria that identify it (e.g. identifier=<system>|<value>)`, 'If-None-Exist');
    }
    for (let attempt = 1; ; attempt++) {
      const { ids, revision } = await this.matchingIdsAt(state, plan);
      if (ids.length > 1) throw preconditionFailed(`The If-None-Exist criteria match more than one ${type}`);
      const [existing] = ids.length === 1 ? await this.readMany(type, ids) : [];
      // A match deleted since the search moved the revision: the create below is refused and the search re-run.
      if (existing) return { resource: existing as T, outcome: 'unchanged' };
      try {
        const { resource: created } = await this.write(resource, resource.id ?? randomUUID(), 'create', { ...options, revision });
        return { resource: created, outcome: 'created' };
      } catch (err) {
        if (!(err instanceof RevisionMoved)) throw err;
        if (attempt >= CONDITIONAL_CREATE_ATTEMPTS) {
          throw conflict(`${type} was written ${attempt} times while the If-None-Exist criteria were checked; send the request again`);
        }
      }
    }
  }

  // -------------------------------------------------------------------------

  /** Ids of every live resource matching a plan's clauses (one round trip). */
  private async matchingIdsOf(state: TypeState, plan: SearchPlan): Promise<string[]> {
    return (await this.matchingIdsAt(state, plan, false)).ids;
  }

  /**
   * `matchingIdsOf`, with the type's revision read in the same MULTI (so the ids are exactly those of that
   * revision); a plan with no clauses matches every live resource.
   */
  private async matchingIdsAt(state: TypeState, plan: SearchPlan, withRevision = true): Promise<{ ids: string[]; revision: string }> {
    if (plan.clauses.length === 0) {
      const replies = replyValues(await this.redis.multi().zrangebylex(state.keys.live, '-', '+').hget(state.keys.manifest, '#rev').exec());
      return { ids: replies[0] as string[], revision: (replies[1] as string | null) ?? '0' };
    }
    const ranges = planRanges(plan);
    const batch = this.redis.multi();
    for (const range of ranges) {
      if (range.kind === 'id') batch.zscore(state.keys.live, range.id);
      else if (range.kind === 'lex') batch.zrangebylex(state.keys.index(range.index), ...lexBounds(range));
      else batch.zrangebyscore(state.keys.index(range.index), ...scoreBounds(range));
    }
    if (withRevision) batch.hget(state.keys.manifest, '#rev');
    const replies = replyValues(await batch.exec());
    const hits = ranges.map((range, i) => {
      const reply = replies[i];
      if (range.kind === 'id') return reply === null ? [] : [range.id];
      return reply as string[];
    });
    return { ids: matchingIds(plan, hits), revision: withRevision ? ((replies[ranges.length] as string | null) ?? '0') : '' };
  }

  private async write<T extends AnyResource>(
    resource: T,
    id: string,
    op: 'create' | 'update' | 'upsert',
    options: UpdateOptions & { readonly revision?: string },
  ): Promise<WriteResult<T>> {
    const type = resource.resourceType;
    const state = this.state(type);
    if (!ID.test(id)) throw badRequest(`'${id}' is not a valid resource id`, `${type}.id`);
    if (DOT_SEGMENT.test(id)) throw badRequest(`'${id}' cannot be a resource id: a URL resolves ${type}/${id} away (it is a path step), so the resource could never be read back`, `${type}.id`);
    const lastUpdated = new Date().toISOString();
    const { head, tail, indexable } = versionedJson(resource, id, lastUpdated);
    const entries = indexEntries(state.definition, indexable);
    const projection = state.definition.projection?.(indexable);
    const [status, version, existed, currentJson] = await this.runWrite(state, id, op, {
      ifMatch: options.ifMatch,
      ifNoneMatch: options.ifNoneMatch,
      mayCreate: options.allowCreate !== false,
      ...(options.revision !== undefined ? { revision: options.revision } : {}),
      // The projection is part of it: an upsert after the projection's rules changed writes a version that carries the new one.
      hash: contentHash(indexable, indexSignature(entries) + (projection ?? '')),
      head,
      tail,
      entries,
      ...(projection !== undefined ? { projection } : {}),
      record: this.changeRecordOf(type, id, op, options.cause),
    });
    switch (status) {
      case 'ok':
        await this.afterWrite(options);
        return { resource: parseKeepingSpellings(`${head}${version}${tail}`) as T, outcome: existed === '1' ? 'updated' : 'created' };
      case 'unchanged':
        return { resource: parseKeepingSpellings(currentJson ?? 'null') as T, outcome: 'unchanged' };
      case 'conflict':
        throw conflict(`${type}/${id} already exists`, `${type}.id`);
      case 'stale':
        throw stale(type, id, options.ifMatch, version);
      case 'exists':
        throw noneMatchHeld(type, id, options.ifNoneMatch, version);
      case 'deleted':
        throw gone(`${type}/${id} was deleted`);
      case 'changed':
        throw new RevisionMoved();
      default:
        throw notFound(`${type}/${id} is not known`);
    }
  }

  /** One call of the write script (scripts.ts documents its arguments and replies). */
  private async runWrite(
    state: TypeState,
    id: string,
    op: 'create' | 'update' | 'upsert' | 'delete',
    write: ScriptWrite,
  ): Promise<[status: string, versionId: string, existed: string, currentJson: string | undefined]> {
    const lines = (write.entries ?? []).map((e) => `${e.index}\t${e.score}\t${e.member}\n`).join('');
    const expected = preconditionArg(
      write.ifMatch === undefined ? undefined : versionCondition(write.ifMatch, 'If-Match'),
      write.ifNoneMatch === undefined ? undefined : versionCondition(write.ifNoneMatch, 'If-None-Match'),
    );
    const record = write.record ?? [];
    const projected = state.definition.projection ? '1' : '0';
    const args = [
      id,
      op,
      expected,
      write.mayCreate ? '1' : '0',
      write.hash ?? '',
      write.head,
      write.tail,
      lines,
      projected,
      write.projection ?? '',
      write.revision ?? '',
      String(record.length),
      ...record,
      ...state.indexNames,
    ];
    const reply = (await writeScript.run(this.redis, state.writeKeys, args)) as [string, string, string, string?];
    return [reply[0], reply[1], reply[2], reply[3]];
  }

  /**
   * The outbox fields of a write's change record; none when the store is not
   * audited. An audited store refuses a write without its cause: a change with
   * no record is exactly what the outbox exists to prevent.
   */
  private changeRecordOf(type: string, id: string, op: 'create' | 'update' | 'upsert' | 'delete', cause: ChangeCause | undefined): string[] {
    if (!this.audit) return [];
    if (!cause) throw new Error(`A write of ${type}/${id} carries no cause: an audited store records who caused every change`);
    const action: AuditAction = op === 'create' ? 'C' : op === 'delete' ? 'D' : 'U';
    const subtype = op === 'upsert' ? 'update' : op;
    return outboxEntryArgs(changeRecord({ ...cause, service: this.audit.service }, { subtype, action, entities: [{ reference: `${type}/${id}`, role: 'domain-resource' }], ...(cause.subject ? { subject: cause.subject } : {}) }, `${type}`));
  }

  private async afterWrite(options: WriteOptions): Promise<void> {
    if (options.relayNow === false) return;
    await this.audit?.relay?.flushQuietly(options.cause?.requestId);
  }

  private state(type: string): TypeState {
    const state = this.types.get(type);
    if (!state) throw notFound(`Resource type ${type} is not served here`);
    return state;
  }
}

/**
 * The one exact index range a search by `param=value` reads, or undefined when it reads anything else. A reference
 * given as it is indexed (`Person/<id>`: asked on every plans read) is its own range, without planning a search.
 */
function exactRangeOf(definition: ResourceTypeDefinition, param: string, value: string): Extract<IndexRange, { kind: 'lex' }> | undefined {
  if (definition.params.get(param)?.type === 'reference' && referenceKey(value) === value) return { kind: 'lex', index: param, value, match: 'exact' };
  const [range, ...others] = planRanges(planSearch(definition, { [param]: value, _count: String(MAX_COUNT), _total: 'none' }));
  return range && others.length === 0 && range.kind === 'lex' && range.match === 'exact' ? range : undefined;
}

/**
 * The stored JSON split around the versionId, which only the script knows:
 * `head + versionId + tail`. Key order is resourceType, id, meta (versionId
 * first), then the rest as given. Also returns the resource as indexed.
 */
function versionedJson(resource: AnyResource, id: string, lastUpdated: string): { head: string; tail: string; indexable: AnyResource } {
  const { resourceType, id: _ignoredId, meta, ...body } = resource;
  const { versionId: _ignoredVersion, lastUpdated: _ignoredLastUpdated, ...metaRest } = meta ?? {};
  const metaJson = JSON.stringify({ lastUpdated, ...metaRest });
  copySpellings(resource, body); // a decimal's precision as written (`1.50`): number-spelling.ts
  const bodyJson = stringifyKeepingSpellings(body);
  const head = `{"resourceType":${JSON.stringify(resourceType)},"id":${JSON.stringify(id)},"meta":{"versionId":"`;
  const tail = `",${metaJson.slice(1)}${bodyJson === '{}' ? '}' : `,${bodyJson.slice(1)}`}`;
  const indexable = { ...resource, id, meta: { ...metaRest, lastUpdated } } as AnyResource;
  return { head, tail, indexable };
}

/**
 * The index entries that do not change with every write. Part of the upsert
 * hash, so reloading fixtures after a search parameter was added or changed
 * re-indexes them (one new version) instead of calling them unchanged.
 */
function indexSignature(entries: readonly IndexEntry[]): string {
  return entries
    .filter((e) => !e.index.startsWith(`${LAST_UPDATED}:`))
    .map((e) => `${e.index}\t${e.score}\t${e.member}\n`)
    .sort()
    .join('');
}

function parseStored(json: string): AnyResource | Tombstone | undefined {
  return json ? (parseKeepingSpellings(json) as AnyResource | Tombstone) : undefined;
}

function isTombstone(stored: AnyResource | Tombstone): stored is Tombstone {
  return (stored as Partial<Tombstone>).deleted === true && !('resourceType' in stored);
}

function versionOf(stored: AnyResource | Tombstone): string | undefined {
  return isTombstone(stored) ? stored.versionId : stored.meta?.versionId;
}

function requireId(resource: AnyResource): string {
  if (!resource.id) throw badRequest(`${resource.resourceType} needs an id to be updated`, `${resource.resourceType}.id`);
  return resource.id;
}

function stale(type: string, id: string, ifMatch: string | undefined, current: string): Error {
  const asked = conditionText(versionCondition(ifMatch ?? '*'));
  return preconditionFailed(
    current === '0'
      ? `${type}/${id} does not exist, so If-Match ${asked} cannot match`
      : asked === '*'
        ? `${type}/${id} does not exist now (deleted at version ${current}), so If-Match * cannot match`
        : `${type}/${id} is at version ${current}, not the If-Match version${asked.includes(',') ? 's' : ''} ${asked}`,
  );
}

function noneMatchHeld(type: string, id: string, ifNoneMatch: string | undefined, current: string): Error {
  const asked = conditionText(versionCondition(ifNoneMatch ?? '*', 'If-None-Match'));
  return preconditionFailed(
    asked === '*' ? `${type}/${id} exists (version ${current}): If-None-Match * writes only what does not exist yet` : `${type}/${id} is at version ${current}, which If-None-Match ${asked} excludes`,
  );
}

/** Values of an EXEC reply, throwing the first command error. */
function replyValues(replies: [Error | null, unknown][] | null): unknown[] {
  if (!replies) throw new Error('Redis transaction was aborted');
  return replies.map(([error, value]) => {
    if (error) throw error;
    return value;
  });
}

function queryRecord(query: SearchQuery): Record<string, unknown> {
  if (!(query instanceof URLSearchParams)) return { ...query };
  const record: Record<string, string[]> = {};
  for (const [key, value] of query) (record[key] ??= []).push(value);
  return record;
}

/** Escapes FHIR search value separators (`,` `|` `$` `\`). */
function escapeValue(value: string): string {
  return value.replace(/[\\,|$]/g, (ch) => `\\${ch}`);
}
