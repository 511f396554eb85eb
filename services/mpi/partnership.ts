/**
 * What the MPI needs to know about the partnership: the agencies (and their
 * identifier systems) and whether the ISP lets demographics flow from one
 * agency to another for identity matching. Backed by the directory's data in
 * Redis through the shared ISP registry; an interface so the domain stays pure.
 */
import type { AgencyRecord } from '../../shared/isp/agencies.js';

export interface PartnershipView {
  agency(id: string): Promise<AgencyRecord | undefined>;
  /** Every agency's patient-identifier system → agency id. */
  systemsByAgency(): Promise<ReadonlyMap<string, string>>;
  /** May demographics about a person flow from `fromAgency` to `toAgency` for identity matching? */
  demographicsMayFlow(fromAgency: string, toAgency: string): Promise<FlowCheck>;
}

export type FlowCheck = { readonly allowed: true; readonly crossesBoundary: boolean } | { readonly allowed: false; readonly detail: string };
