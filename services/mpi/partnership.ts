/**
 * What the MPI needs to know about the partnership: the agencies (and their
 * identifier systems) and whether the ISP lets demographics flow from one
 * agency to another for identity matching. Read once per request (a snapshot
 * of the directory's data in Redis through the shared ISP registry), then
 * answered synchronously for every record in that request.
 */
import type { AgencyRecord } from '../../shared/isp/agencies.js';
import { decideFlow, type IspRegistry, type IspSnapshot } from '../../shared/isp/registry.js';

export type FlowCheck = { readonly allowed: true; readonly crossesBoundary: boolean } | { readonly allowed: false; readonly detail: string };

export interface PartnershipSnapshot {
  agency(id: string): AgencyRecord | undefined;
  /** Every agency's patient-identifier system → agency id. */
  readonly systemsByAgency: ReadonlyMap<string, string>;
  /** May demographics about a person flow from `fromAgency` to `toAgency` for identity matching? */
  demographicsMayFlow(fromAgency: string, toAgency: string): FlowCheck;
}

export interface PartnershipView {
  snapshot(): Promise<PartnershipSnapshot>;
}

export class IspPartnershipView implements PartnershipView {
  constructor(
    private readonly registry: IspRegistry,
    private readonly now: () => Date = () => new Date(),
  ) {}

  async snapshot(): Promise<PartnershipSnapshot> {
    return partnershipSnapshot(await this.registry.snapshot(), this.now());
  }
}

export function partnershipSnapshot(snapshot: IspSnapshot, now: Date): PartnershipSnapshot {
  const systemsByAgency = new Map([...snapshot.agencies.values()].map((a) => [a.patientIdentifierSystem, a.id] as const));
  const decisions = new Map<string, FlowCheck>();
  return {
    agency: (id) => snapshot.agencies.get(id),
    systemsByAgency,
    demographicsMayFlow(fromAgency, toAgency) {
      // An agency always sees its own records.
      if (fromAgency === toAgency) return { allowed: true, crossesBoundary: false };
      const key = `${fromAgency}>${toAgency}`;
      let check = decisions.get(key);
      if (!check) {
        const d = decideFlow(snapshot, { senderAgencyId: fromAgency, receiverAgencyId: toAgency, category: 'demographics', purpose: 'identity-matching' }, now);
        check = d.allowed ? { allowed: true, crossesBoundary: d.crossesBoundary } : { allowed: false, detail: d.detail };
        decisions.set(key, check);
      }
      return check;
    },
  };
}
