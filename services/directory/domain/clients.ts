/**
 * Agency systems as OAuth clients, read from the directory's Organizations.
 * Pure: the token route fetches the Organization, this decides whether it is a
 * client and what it may have.
 *
 * An Organization is a registered client when it is an active agency (not the
 * partnership itself) attached to a partnership (`partOf`) with a registered
 * public key (`Extensions.agencyPublicJwk`). Its client id is its id.
 */
import type { CareTeam, Organization, PractitionerRole } from 'fhir/r4.js';
import type { RegisteredClient } from '../../../shared/auth/client-assertion.js';
import { agencyFromOrganization } from '../../../shared/isp/agencies.js';
import { agencyIdOf } from '../../../shared/isp/contract.js';
import { fhirDateSpan } from '../../../shared/isp/dates.js';
import { allowedScopesFor } from './agency-scopes.js';
import { namedProfessionalsOf, practitionerRoleIdOf } from './named-professionals.js';

/** The client an Organization registers, or undefined when it cannot authenticate. */
export function registeredClientOf(org: Organization): RegisteredClient | undefined {
  const agency = agencyFromOrganization(org);
  if (!agency || agency.type === 'partnership' || !agency.active || !agency.partnership || !agency.publicJwk) return undefined;
  return {
    clientId: agency.id,
    agency: agency.id,
    partnership: agency.partnership,
    publicJwk: agency.publicJwk,
    allowedScopes: allowedScopesFor(agency.type),
  };
}

/**
 * Whether a practitioner may act through this agency's system: the role
 * belongs to the agency, is active, and its period (if any) covers `now`.
 */
export function roleBelongsToAgency(role: PractitionerRole | undefined, agencyId: string, now: Date): boolean {
  if (!role || role.active === false) return false;
  if (agencyIdOf(role.organization?.reference) !== agencyId) return false;
  const { start, end } = role.period ?? {};
  // Partial dates cover their whole span: a role ending "2026-07-31" still acts that day. Unreadable dates refuse.
  const t = now.getTime();
  if (start !== undefined) {
    const from = fhirDateSpan(start);
    if (!from || t < from.start.getTime()) return false;
  }
  if (end !== undefined) {
    const until = fhirDateSpan(end);
    if (!until || t >= until.end.getTime()) return false;
  }
  return true;
}

/**
 * Whether a person may act for themselves through this agency's system (a patient-facing
 * portal the agency runs): the directory holds an active CareTeam about them — they are a
 * person the partnership supports with a Named Person / Lead Professional — and the agency
 * manages that team or employs their current Named Person / Lead Professional.
 */
export function personSupportedByAgency(
  careTeams: readonly CareTeam[],
  roles: readonly (PractitionerRole | undefined)[],
  agencyId: string,
  now: Date,
): boolean {
  const roleAgency = new Map(roles.flatMap((r) => (r?.id ? [[r.id, agencyIdOf(r.organization?.reference)] as const] : [])));
  return careTeams.some((team) => {
    const named = namedProfessionalsOf(team, now);
    if (named.length === 0) return false;
    if ((team.managingOrganization ?? []).some((o) => agencyIdOf(o.reference) === agencyId)) return true;
    return named.some(({ member }) => roleAgency.get(practitionerRoleIdOf(member) ?? '') === agencyId);
  });
}
