/**
 * The plans service's store: the shared FHIR resource store (versions,
 * `If-Match`, `_history`, search, each write atomic with its audit change
 * record) under the `{plans:<Type>}` tags (keys.ts), with every read path
 * going through the ONE access check (access.ts → domain/access.ts):
 *
 * - read, vread and `_history` decide on the record's access record (its tags,
 *   which never change) and hand back nothing when the caller may not see it —
 *   only the refusal to answer as the unknown id it must look like (404);
 * - search decides on every match BEFORE the total is counted and the page cut,
 *   so `total` and pages count only what the caller may see.
 *
 * `$render`, `$diff` and `$chronology` read only through these.
 */
import type { CarePlan, Observation, QuestionnaireResponse, ServiceRequest } from 'fhir/r4.js';
import type { Redis } from 'ioredis';
import type { ChangeCause } from '../../shared/audit/outbox.js';
import type { OutboxRelay } from '../../shared/audit/outbox-relay.js';
import { internalError, type OperationOutcomeError } from '../../shared/fhir/outcome.js';
import type { KeySpace } from '../../shared/redis/connection.js';
import { ResourceStore, unknownResource, type SearchResult } from '../../shared/store/resource-store.js';
import { MAX_COUNT, type SearchQuery } from '../../shared/store/search-plan.js';
import type { PlansAccess } from './access.js';
import { accessRecordOf, type AccessAction, type AccessDecision, type AccessRecord, type Caller, type PlansType } from './domain/access.js';
import { linkedReferences, type IncludeSpec } from './domain/includes.js';
import { PLANS_FAMILY } from './keys.js';
import { PLANS_RESOURCE_TYPES } from './resource-types.js';

export type PlansResource = CarePlan | QuestionnaireResponse | ServiceRequest | Observation;
export type PlansResourceOf<K extends PlansType> = Extract<PlansResource, { resourceType: K }>;

/**
 * What a guarded read hands back: the data only when the caller may see it, and the decision either way (for the audit).
 * A refusal carries what an unknown id in its place answers (`unknown`): how a resource the caller may not see is answered.
 */
export type Guarded<T> =
  | { readonly permitted: true; readonly value: T; readonly record: AccessRecord; readonly decision: AccessDecision & { permit: true } }
  | {
      readonly permitted: false;
      readonly record: AccessRecord;
      readonly decision: AccessDecision & { permit: false };
      readonly unknown: () => OperationOutcomeError;
    };

export interface VisibleSearch<T> extends SearchResult<T> {
  /** The decision for each resource on the page, by id. */
  readonly decisions: ReadonlyMap<string, AccessDecision>;
}

export class PlansStore {
  /** The resource store itself: writes, and reads the service makes for itself (never handed to a caller unchecked). */
  readonly resources: ResourceStore;

  constructor(
    redis: Redis,
    keys: KeySpace,
    private readonly access: PlansAccess,
    relay?: OutboxRelay,
  ) {
    this.resources = new ResourceStore(redis, keys, PLANS_RESOURCE_TYPES, { family: PLANS_FAMILY, audit: { service: 'plans', ...(relay ? { relay } : {}) } });
  }

  /** The audit outboxes the store writes (for the service's relay). */
  get outboxKeys(): string[] {
    return this.resources.outboxKeys;
  }

  async create<T extends PlansResource>(resource: T, cause: ChangeCause): Promise<T> {
    return this.resources.create(resource, { cause });
  }

  /** A new version; 412 when `ifMatch` is stale, 404 when there is no such resource (an update never creates here). */
  async update<T extends PlansResource>(resource: T, ifMatch: string, cause: ChangeCause): Promise<T> {
    const { resource: stored } = await this.resources.update(resource, { ifMatch, cause, allowCreate: false });
    return stored;
  }

  /** The current version, if the caller may `action` it (404 when unknown). */
  async read<K extends PlansType>(caller: Caller, type: K, id: string, action: AccessAction = 'read'): Promise<Guarded<PlansResourceOf<K>>> {
    const resource = (await this.resources.read(type, id)) as PlansResourceOf<K>;
    return this.guard(caller, resource, resource, action, () => unknownResource(type, id));
  }

  /** One version, decided on the record's access record (the current version's tags, which never change). */
  async vread<K extends PlansType>(caller: Caller, type: K, id: string, versionId: string): Promise<Guarded<PlansResourceOf<K>>> {
    const version = (await this.resources.vread(type, id, versionId)) as PlansResourceOf<K>;
    return this.guard(caller, version, version, 'read', () => unknownResource(type, id, versionId));
  }

  /** Every version, newest first. */
  async history<K extends PlansType>(caller: Caller, type: K, id: string): Promise<Guarded<PlansResourceOf<K>[]>> {
    const versions = (await this.resources.history(type, id)).flatMap((v) => (v.resource ? [v.resource as PlansResourceOf<K>] : []));
    const current = versions[0];
    if (!current) throw internalError();
    return this.guard(caller, current, versions, 'read', () => unknownResource(type, id));
  }

  /** A search page of what the caller may see, with an exact total of that. */
  async search<K extends PlansType>(caller: Caller, type: K, query: SearchQuery): Promise<VisibleSearch<PlansResourceOf<K>>> {
    const decisions = new Map<string, AccessDecision>();
    const result = await this.resources.searchVisible(type, query, async (resources) => {
      const records = resources.map((r) => accessRecordOf(r));
      const known = records.filter((r): r is AccessRecord => r !== undefined);
      const decided = await this.access.decide(caller, known, 'read');
      const byId = new Map(known.map((r, i) => [r.id, decided[i]!]));
      return records.map((r) => {
        const decision = r ? byId.get(r.id) : undefined;
        if (r && decision) decisions.set(r.id, decision);
        return decision?.permit === true;
      });
    });
    const page = result as SearchResult<PlansResourceOf<K>>;
    const pageDecisions = new Map(page.resources.flatMap((r) => (r.id && decisions.has(r.id) ? [[r.id, decisions.get(r.id)!] as const] : [])));
    return { ...page, decisions: pageDecisions };
  }

  /**
   * Every resource of `type` about a Person that the caller may see, with its
   * versions (for the chronology): one search, one access decision per resource.
   */
  async aboutPerson<K extends PlansType>(caller: Caller, type: K, personId: string): Promise<{ resource: PlansResourceOf<K>; versions: PlansResourceOf<K>[]; decision: AccessDecision }[]> {
    const page = await this.search(caller, type, { person: personId, _count: '1000', _total: 'none' });
    return Promise.all(
      page.resources.map(async (resource) => {
        const versions = (await this.resources.history(type, resource.id!)).flatMap((v) => (v.resource ? [v.resource as PlansResourceOf<K>] : []));
        return { resource, versions, decision: page.decisions.get(resource.id!)! };
      }),
    );
  }

  /** Of these resources, those the caller may see (one access decision for all); unknown ids are left out. */
  async readVisible<K extends PlansType>(caller: Caller, type: K, ids: readonly string[]): Promise<PlansResourceOf<K>[]> {
    if (ids.length === 0) return [];
    const found = (await this.resources.readMany(type, [...new Set(ids)])).filter((r): r is PlansResourceOf<K> => r !== undefined);
    const withRecords = found.flatMap((resource) => {
      const record = accessRecordOf(resource);
      return record ? [{ resource, record }] : [];
    });
    const decisions = await this.access.decide(caller, withRecords.map((w) => w.record), 'read');
    return withRecords.filter((_, i) => decisions[i]?.permit === true).map((w) => w.resource);
  }

  /**
   * What a search page's `_include` / `_revinclude` bring along (domain/includes.ts):
   * the resources its matches point to, and those pointing to its matches — each
   * through the same access check as the matches, never one of the matches again.
   */
  async included(caller: Caller, page: readonly PlansResource[], includes: readonly IncludeSpec[]): Promise<PlansResource[]> {
    if (page.length === 0 || includes.length === 0) return [];
    const out = new Map<string, PlansResource>();
    const matched = new Set(page.map((r) => `${r.resourceType}/${r.id ?? ''}`));
    const add = (resources: readonly PlansResource[]) => {
      for (const r of resources) {
        const key = `${r.resourceType}/${r.id ?? ''}`;
        if (!matched.has(key)) out.set(key, r);
      }
    };
    for (const spec of includes) {
      if (spec.kind === '_include') {
        const refs = page.flatMap((r) => linkedReferences(r, spec.param, spec.targets));
        for (const type of spec.targets) add(await this.readVisible(caller, type, refs.filter((ref) => ref.type === type).map((ref) => ref.id)));
      } else {
        const targets = page.filter((r) => r.resourceType === spec.targets[0]).map((r) => `${r.resourceType}/${r.id ?? ''}`);
        for (let i = 0; i < targets.length; i += MAX_COUNT) {
          const query = { [spec.param]: targets.slice(i, i + MAX_COUNT).join(','), _count: String(MAX_COUNT), _total: 'none' };
          add((await this.search(caller, spec.source, query)).resources);
        }
      }
    }
    return [...out.values()];
  }

  private async guard<T>(caller: Caller, current: PlansResource, value: T, action: AccessAction, unknown: () => OperationOutcomeError): Promise<Guarded<T>> {
    const record = accessRecordOf(current);
    // Every resource this service stores carries its access tags; one without them was not written here.
    if (!record) throw internalError();
    const [decision] = await this.access.decide(caller, [record], action);
    if (!decision) throw internalError();
    return decision.permit ? { permitted: true, value, record, decision } : { permitted: false, record, decision, unknown };
  }
}
