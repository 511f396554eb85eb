/**
 * The partnership's ISPs as every service checks them: loads the ISP Contracts
 * and the agencies (Organizations) from the directory's store in Redis,
 * verifies each ISP's signatures against the partners' registered keys, and
 * decides flows with the evaluator (`evaluator.ts`).
 *
 * Always current: each check reads the current Contracts and Organizations (two
 * round trips, run together), so an ISP amended a moment ago — whose
 * signatures no longer hold — refuses flows at once, and a partner's new key
 * counts at once. The expensive part, verifying every partner's signature, is
 * cached per Contract version and partner-key set, so it runs again only after
 * one of them changed.
 *
 * Any service can build one from its Redis deps (`IspRegistry.forRedis`); the
 * directory passes its own store.
 */
import type { Contract } from 'fhir/r4.js';
import type { Redis } from 'ioredis';
import { forbidden } from '../fhir/outcome.js';
import type { DataCategory, Purpose } from '../fhir/systems.js';
import { createLogger, type Logger } from '../log.js';
import type { KeySpace } from '../redis/connection.js';
import { ResourceStore } from '../store/resource-store.js';
import { defineResourceType, type ResourceOf, type ResourceType } from '../store/search-params.js';
import { agencyFromOrganization, flowAgencyOf, publicKeysOf, type AgencyRecord } from './agencies.js';
import { parseIspContract } from './contract.js';
import {
  evaluateFlowUnderAny,
  routeTargetsUnderAny,
  type FlowAgency,
  type FlowDecision,
  type FlowDenialReason,
  type IspInForce,
  type RouteTarget,
} from './evaluator.js';
import { verifyIspSignatures, type IspVerification } from './signatures.js';

/** A flow to check: who sends what to whom, and why. */
export interface FlowQuery {
  readonly senderAgencyId: string;
  readonly receiverAgencyId: string;
  readonly category: DataCategory;
  readonly purpose: Purpose;
}

export type IspFlowDenialReason = FlowDenialReason | 'unknown-agency' | 'no-isp';

export type AllowedFlow = Extract<FlowDecision, { allowed: true }>;

/** The evaluator's decision, or a refusal before any ISP could be consulted. */
export type IspFlowDecision =
  | FlowDecision
  | {
      readonly allowed: false;
      readonly isp?: undefined;
      readonly reason: Extract<IspFlowDenialReason, 'unknown-agency' | 'no-isp'>;
      readonly detail: string;
    };

/** Everything the registry read for one decision. */
export interface IspSnapshot {
  readonly agencies: ReadonlyMap<string, AgencyRecord>;
  readonly isps: readonly IspInForce[];
  /** Contracts in the store that are not readable ISPs (logged, never allowing anything). */
  readonly unreadable: readonly string[];
}

/** Page size when listing Contracts and Organizations (the store's maximum). */
const PAGE = 1000;

/**
 * Read-only view of the directory's Organizations and Contracts. It declares no
 * search indexes, so it must never write: the directory's own store does that.
 */
const READ_ONLY_TYPES = [defineResourceType('Organization', []), defineResourceType('Contract', [])];

export interface IspRegistryOptions {
  readonly log?: Logger;
}

export class IspRegistry {
  private readonly verified = new Map<string, { key: string; value: IspInForce }>();
  private cachedSnapshot: { revision: string; snapshot: IspSnapshot } | undefined;
  private readonly log: Logger;

  /** `store` must serve Organization and Contract (the directory's store, or `forRedis`'s). */
  constructor(
    private readonly store: ResourceStore,
    options: IspRegistryOptions = {},
  ) {
    this.log = options.log ?? createLogger('isp-registry');
  }

  /** A registry reading the directory's data with a service's own Redis connection and key space. */
  static forRedis(redis: Redis, keys: KeySpace, options: IspRegistryOptions = {}): IspRegistry {
    return new IspRegistry(new ResourceStore(redis, keys, READ_ONLY_TYPES), options);
  }

  /** May this flow happen now? Never throws for a refusal; see `assertFlowAllowed`. */
  async checkFlow(flow: FlowQuery, now: Date = new Date()): Promise<IspFlowDecision> {
    const snapshot = await this.snapshot();
    return decideFlow(snapshot, flow, now);
  }

  /** The allowed flow, or a 403 OperationOutcomeError saying why not (for routes and workers). */
  async assertFlowAllowed(flow: FlowQuery, now: Date = new Date()): Promise<AllowedFlow> {
    const decision = await this.checkFlow(flow, now);
    if (!decision.allowed) throw forbidden(decision.detail);
    return decision;
  }

  /**
   * Every agency the ISPs let `senderAgencyId` send this category to for this
   * purpose (where a structured alert goes, MA-L4/MA-L5). Empty for an unknown sender.
   */
  async routeTargets(senderAgencyId: string, category: DataCategory, purpose: Purpose, now: Date = new Date()): Promise<RouteTarget[]> {
    const snapshot = await this.snapshot();
    const sender = flowAgency(snapshot, senderAgencyId);
    if (!sender) return [];
    const agencies = [...snapshot.agencies.values()].map(flowAgencyOf).filter((a): a is FlowAgency => a !== undefined);
    return routeTargetsUnderAny(snapshot.isps, sender, category, purpose, agencies, now);
  }

  /** An agency as the directory holds it, or undefined. */
  async agency(agencyId: string): Promise<AgencyRecord | undefined> {
    const [org] = await this.store.readMany('Organization', [agencyId]);
    return org ? agencyFromOrganization(org) : undefined;
  }

  /** Checks one Contract's signatures against the partners' keys as registered now (for `$verify`). */
  async verify(contract: Contract): Promise<IspVerification> {
    const agencies = await this.agencies();
    return verifyIspSignatures(contract, publicKeysOf([...agencies.values()]));
  }

  /** Every agency (Organizations with an agency type), by id. */
  async agencies(): Promise<Map<string, AgencyRecord>> {
    const organizations = await listAll(this.store, 'Organization');
    const agencies = new Map<string, AgencyRecord>();
    for (const org of organizations) {
      const agency = agencyFromOrganization(org);
      if (agency) agencies.set(agency.id, agency);
    }
    return agencies;
  }

  /**
   * The current agencies and ISPs, each ISP with its signature check. Re-read
   * only when an Organization or Contract was written since (the store's
   * per-type revision, one round trip), so a check stays current to the write
   * without re-parsing every ISP on every request.
   */
  async snapshot(): Promise<IspSnapshot> {
    // Revisions are read before the data: a write in between leaves newer data under an older
    // revision, which the next call sees has moved — a cache can be early, never stale.
    const [organizations, contracts] = await Promise.all([this.store.revision('Organization'), this.store.revision('Contract')]);
    const revision = `${organizations}|${contracts}`;
    if (this.cachedSnapshot?.revision === revision) return this.cachedSnapshot.snapshot;
    const snapshot = await this.readSnapshot();
    this.cachedSnapshot = { revision, snapshot };
    return snapshot;
  }

  private async readSnapshot(): Promise<IspSnapshot> {
    const [agencies, contracts] = await Promise.all([this.agencies(), listAll(this.store, 'Contract')]);
    const keys = publicKeysOf([...agencies.values()]);
    const isps: IspInForce[] = [];
    const unreadable: string[] = [];
    for (const contract of contracts) {
      const id = contract.id ?? '';
      let isp;
      try {
        isp = parseIspContract(contract);
      } catch (err) {
        unreadable.push(id);
        this.log.warn({ contract: id, err: (err as Error).message }, 'A Contract in the directory is not a readable ISP; it allows no flow');
        continue;
      }
      const cacheKey = `${contract.meta?.versionId ?? ''}|${isp.partners.map((p) => `${p.agency}=${JSON.stringify(keys.get(p.agency) ?? null)}`).join(',')}`;
      const cached = this.verified.get(id);
      if (cached?.key === cacheKey) {
        isps.push(cached.value);
        continue;
      }
      const value: IspInForce = { isp, verification: verifyIspSignatures(contract, keys) };
      this.verified.set(id, { key: cacheKey, value });
      isps.push(value);
    }
    // Forget Contracts that are gone, so the cache never outgrows the store.
    for (const id of this.verified.keys()) if (!contracts.some((c) => c.id === id)) this.verified.delete(id);
    return { agencies, isps, unreadable };
  }
}

/** The decision for a flow given a snapshot. Pure. */
export function decideFlow(snapshot: IspSnapshot, flow: FlowQuery, now: Date): IspFlowDecision {
  const sender = flowAgency(snapshot, flow.senderAgencyId);
  const receiver = flowAgency(snapshot, flow.receiverAgencyId);
  const unknown = [sender ? undefined : flow.senderAgencyId, receiver ? undefined : flow.receiverAgencyId].filter((a) => a !== undefined);
  if (!sender || !receiver) {
    return {
      allowed: false,
      reason: 'unknown-agency',
      detail: `${unknown.join(' and ')} ${unknown.length > 1 ? 'are' : 'is'} not an active agency of a partnership in the directory`,
    };
  }
  const decision = evaluateFlowUnderAny(snapshot.isps, { senderAgency: sender, receiverAgency: receiver, category: flow.category, purpose: flow.purpose }, now);
  return decision ?? { allowed: false, reason: 'no-isp', detail: 'The directory holds no Information Sharing Protocol, so no flow is allowed' };
}

/**
 * The maturity criteria an allowed flow shows: IM-L4 (the exchange was checked
 * against an ISP signed by all partners), and IM-L5 when it crossed a
 * partnership boundary under the ISP. A refusal shows nothing by itself.
 */
export function flowCriteria(decision: IspFlowDecision): string[] {
  if (!decision.allowed) return [];
  return decision.crossesBoundary ? ['IM-L4', 'IM-L5'] : ['IM-L4'];
}

function flowAgency(snapshot: IspSnapshot, agencyId: string): FlowAgency | undefined {
  const agency = snapshot.agencies.get(agencyId);
  return agency ? flowAgencyOf(agency) : undefined;
}

async function listAll<K extends ResourceType>(store: ResourceStore, type: K): Promise<ResourceOf<K>[]> {
  const all: ResourceOf<K>[] = [];
  for (let offset = 0; ; offset += PAGE) {
    const page = await store.search(type, { _count: String(PAGE), _offset: String(offset), _total: 'none' });
    all.push(...page.resources);
    if (page.resources.length < PAGE) break;
  }
  return all;
}
