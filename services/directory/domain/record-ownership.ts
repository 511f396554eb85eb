/**
 * Who may change which directory record. A write scope says an agency may
 * maintain, say, PractitionerRoles at all; this says whose: an agency keeps its
 * own staff's roles and its own endpoints, so one agency cannot re-route
 * another's alerts or change the phone number of another's Named Person. The
 * statutory partners (NHS board, council social work) administer the whole
 * directory. Pure.
 */
import type { FhirResource } from 'fhir/r4.js';
import type { AgencyType } from '../../../shared/fhir/systems.js';
import { agencyIdOf } from '../../../shared/isp/contract.js';
import { isStatutoryPartner } from './agency-scopes.js';

/** The agency a record belongs to, for the types whose owner is one agency; undefined otherwise. */
export function owningAgencyOf(resource: FhirResource): string | undefined {
  switch (resource.resourceType) {
    case 'PractitionerRole':
      return agencyIdOf(resource.organization?.reference);
    case 'Endpoint':
      return agencyIdOf(resource.managingOrganization?.reference);
    default:
      return undefined;
  }
}

/** Types whose records belong to one agency (see `owningAgencyOf`). */
export const AGENCY_OWNED_TYPES: ReadonlySet<string> = new Set(['PractitionerRole', 'Endpoint']);

/**
 * Whether `caller` may write `next` over `previous` (absent on create). For an
 * agency-owned type both the record as it was and as it will be must belong to
 * the caller, so a record can be neither taken over nor given away.
 */
export function mayWriteRecord(caller: { agency: string; type: AgencyType | undefined }, next: FhirResource, previous?: FhirResource): boolean {
  if (!AGENCY_OWNED_TYPES.has(next.resourceType)) return true;
  if (caller.type !== undefined && isStatutoryPartner(caller.type)) return true;
  return [next, previous].every((r) => r === undefined || owningAgencyOf(r) === caller.agency);
}
