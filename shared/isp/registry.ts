/**
 * The partnership's ISPs as every service checks them: reads the ISP Contracts
 * and the agencies (Organizations) from an `IspSource` — the directory's
 * read-only view, which owns where they are kept — verifies each ISP's
 * signatures against the partners' registered keys, and decides flows with
 * the evaluator (`evaluator.ts`).
 *
 * Always current: each check asks the source for its revision (one round
 * trip), so an ISP amended a moment ago — whose signatures no longer hold —
 * refuses flows at once, and a partner's new key counts at once. Everything
 * else is re-read only when the revision moved, and the expensive part,
 * verifying every partner's signature, is cached per Contract version and
 * partner-key set, so it runs again only after one of them changed.
 */
import type { Contract, Organization } from 'fhir/r4.js';
import { forbidden } from '../fhir/outcome.js';
import type { DataCategory, Purpose } from '../fhir/systems.js';
import { createLogger, type Logger } from '../log.js';
import { agencyFromOrganization, flowAgencyOf, publicKeysOf, type AgencyRecord } from './agencies.js';
import { parseIspContract } from './contract.js';
import {
  evaluateFlowUnderAny,
  routeTargetsUnderAny,
  unchangedInForceSpan,
  type FlowAgency,
  type FlowDecision,
  type FlowDenialReason,
  type IspInForce,
  type RouteTarget,
} from './evaluator.js';
import { verifyIspSignatures, type IspVerification } from './signatures.js';

/**
 * Where the registry reads the partnership from: the agencies and the ISPs as
 * the directory holds them. shared/ never reads a service's keys: the
 * directory's view implements this, and each service's module hands it over.
 */
export interface IspSource {
  /**
   * Moves whenever an Organization or a Contract is written (one round trip):
   * read *before* the data, so data read after it is never older than it says.
   */
  revision(): Promise<string>;
  /** One Organization by id, or undefined. */
  organization(id: string): Promise<Organization | undefined>;
  /** Every Organization (agencies and partnerships). */
  organizations(): Promise<Organization[]>;
  /** Every Contract (ISPs, signed or not). */
  contracts(): Promise<Contract[]>;
}

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
  /** Contracts in the directory that are not readable ISPs (logged, never allowing anything). */
  readonly unreadable: readonly string[];
}

export interface IspRegistryOptions {
  readonly log?: Logger;
}

/** Route targets worked out under a snapshot, by sender, category and purpose, with the span of time they hold for. */
interface KeptRoute {
  readonly from: number;
  readonly until: number;
  readonly targets: readonly RouteTarget[];
}
const routesBySnapshot = new WeakMap<IspSnapshot, Map<string, KeptRoute>>();

export class IspRegistry {
  private readonly verified = new Map<string, { key: string; value: IspInForce }>();
  private cachedSnapshot: { revision: string; snapshot: IspSnapshot } | undefined;
  private readonly log: Logger;

  constructor(
    private readonly source: IspSource,
    options: IspRegistryOptions = {},
  ) {
    this.log = options.log ?? createLogger('isp-registry');
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
    return this.routeTargetsIn(await this.snapshot(), senderAgencyId, category, purpose, now);
  }

  /** `routeTargets` under a snapshot the caller already holds (a request that read it once for all its checks). */
  routeTargetsIn(snapshot: IspSnapshot, senderAgencyId: string, category: DataCategory, purpose: Purpose, now: Date = new Date()): RouteTarget[] {
    // Every alert a sender raises asks the same question of the same snapshot: evaluating each agency under
    // each ISP again was a tenth of an alert's CPU. The answer is kept with the snapshot (a new revision is
    // a new snapshot) for as long as no ISP comes into force or passes its review date.
    let known = routesBySnapshot.get(snapshot);
    if (!known) routesBySnapshot.set(snapshot, (known = new Map<string, KeptRoute>()));
    const question = `${senderAgencyId}\n${category}\n${purpose}`;
    const t = now.getTime();
    const kept = known.get(question);
    if (kept && t >= kept.from && t < kept.until) return [...kept.targets];
    const sender = flowAgency(snapshot, senderAgencyId);
    const agencies = [...snapshot.agencies.values()].map(flowAgencyOf).filter((a): a is FlowAgency => a !== undefined);
    const targets = sender ? routeTargetsUnderAny(snapshot.isps, sender, category, purpose, agencies, now) : [];
    known.set(question, { ...unchangedInForceSpan(snapshot.isps, now), targets });
    return [...targets];
  }

  /** An agency as the directory holds it, or undefined. */
  async agency(agencyId: string): Promise<AgencyRecord | undefined> {
    const org = await this.source.organization(agencyId);
    return org ? agencyFromOrganization(org) : undefined;
  }

  /** Checks one Contract's signatures against the partners' keys as registered now (for `$verify`). */
  async verify(contract: Contract): Promise<IspVerification> {
    const agencies = await this.agencies();
    return verifyIspSignatures(contract, publicKeysOf([...agencies.values()]));
  }

  /** Every agency (Organizations with an agency type), by id. */
  async agencies(): Promise<Map<string, AgencyRecord>> {
    const organizations = await this.source.organizations();
    const agencies = new Map<string, AgencyRecord>();
    for (const org of organizations) {
      const agency = agencyFromOrganization(org);
      if (agency) agencies.set(agency.id, agency);
    }
    return agencies;
  }

  /**
   * The snapshot `snapshot()` last read, as it was then: no round trip, and possibly out of date (undefined before
   * the first read). Only for work started early on a guess that is checked against `snapshot()` before it counts.
   */
  lastSnapshot(): IspSnapshot | undefined {
    return this.cachedSnapshot?.snapshot;
  }

  /**
   * The current agencies and ISPs, each ISP with its signature check. Re-read
   * only when an Organization or Contract was written since (the source's
   * revision, one round trip), so a check stays current to the write without
   * re-parsing every ISP on every request.
   */
  async snapshot(): Promise<IspSnapshot> {
    // The revision is read before the data: a write in between leaves newer data under an older
    // revision, which the next call sees has moved — a cache can be early, never stale.
    const revision = await this.source.revision();
    if (this.cachedSnapshot?.revision === revision) return this.cachedSnapshot.snapshot;
    const snapshot = await this.readSnapshot();
    this.cachedSnapshot = { revision, snapshot };
    return snapshot;
  }

  private async readSnapshot(): Promise<IspSnapshot> {
    const [agencies, contracts] = await Promise.all([this.agencies(), this.source.contracts()]);
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
    // Forget Contracts that are gone, so the cache never outgrows the directory.
    for (const id of this.verified.keys()) if (!contracts.some((c) => c.id === id)) this.verified.delete(id);
    return { agencies, isps, unreadable };
  }
}

/** A flow's decision worked out under a snapshot, with the span of time it holds for. */
interface KeptFlow {
  readonly from: number;
  readonly until: number;
  readonly decision: IspFlowDecision;
}
const flowsBySnapshot = new WeakMap<IspSnapshot, Map<string, KeptFlow>>();

/**
 * The decision for a flow given a snapshot. Pure: the same snapshot, flow and instant give the same decision —
 * which is why it is kept with the snapshot (a new revision is a new snapshot) for as long as no ISP comes into
 * force or passes its review date (`unchangedInForceSpan`): every plan read asks one flow of one snapshot, and
 * evaluating it afresh (dates parsed, terms filtered) was a twentieth of a read's garbage. Callers never change it.
 */
export function decideFlow(snapshot: IspSnapshot, flow: FlowQuery, now: Date): IspFlowDecision {
  let known = flowsBySnapshot.get(snapshot);
  if (!known) flowsBySnapshot.set(snapshot, (known = new Map<string, KeptFlow>()));
  const question = `${flow.senderAgencyId}\n${flow.receiverAgencyId}\n${flow.category}\n${flow.purpose}`;
  const t = now.getTime();
  const kept = known.get(question);
  if (kept && t >= kept.from && t < kept.until) return kept.decision;
  const decision = evaluatedFlow(snapshot, flow, now);
  known.set(question, { ...unchangedInForceSpan(snapshot.isps, now), decision });
  return decision;
}

function evaluatedFlow(snapshot: IspSnapshot, flow: FlowQuery, now: Date): IspFlowDecision {
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
