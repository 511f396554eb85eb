/**
 * The resource types the directory serves and their search parameters, in one
 * place: the store indexes them, the routes serve them, the CapabilityStatement
 * lists them. Every type also gets `_id` and `_lastUpdated`.
 */
import type { CareTeam, Contract, Endpoint, Organization, Practitioner, PractitionerRole } from 'fhir/r4.js';
import {
  codesOf,
  codingsOf,
  defineResourceType,
  identifiersOf,
  namesOf,
  referenceParam,
  referencesOf,
  stringParam,
  tokenParam,
} from '../../shared/store/search-params.js';

/** `Organization?type=&partof=&name=&identifier=`: agencies by type, the agencies of a partnership. */
export const organizationType = defineResourceType('Organization', [
  tokenParam<Organization>('identifier', (r) => identifiersOf(r.identifier)),
  tokenParam<Organization>('type', (r) => codingsOf(r.type)),
  stringParam<Organization>('name', (r) => [r.name, ...(r.alias ?? [])]),
  referenceParam<Organization>('partof', ['Organization'], (r) => referencesOf(r.partOf)),
]);

/** `Endpoint?organization=`: where an agency takes deliveries. */
export const endpointType = defineResourceType('Endpoint', [
  referenceParam<Endpoint>('organization', ['Organization'], (r) => referencesOf(r.managingOrganization)),
]);

/** `Practitioner?name=&identifier=`. */
export const practitionerType = defineResourceType('Practitioner', [
  stringParam<Practitioner>('name', (r) => namesOf(r.name)),
  tokenParam<Practitioner>('identifier', (r) => identifiersOf(r.identifier)),
]);

/** `PractitionerRole?organization=&practitioner=&role=`: an agency's staff, a person's roles, who is a Named Person. */
export const practitionerRoleType = defineResourceType('PractitionerRole', [
  referenceParam<PractitionerRole>('organization', ['Organization'], (r) => referencesOf(r.organization)),
  referenceParam<PractitionerRole>('practitioner', ['Practitioner'], (r) => referencesOf(r.practitioner)),
  tokenParam<PractitionerRole>('role', (r) => codingsOf(r.code)),
]);

/** `CareTeam?subject=&participant=&category=`: a person's Named Person / Lead Professional. */
export const careTeamType = defineResourceType('CareTeam', [
  referenceParam<CareTeam>('subject', ['Patient', 'Group'], (r) => referencesOf(r.subject)),
  referenceParam<CareTeam>('participant', ['PractitionerRole', 'Practitioner', 'Organization', 'RelatedPerson', 'Patient', 'CareTeam'], (r) =>
    referencesOf(...(r.participant ?? []).map((p) => p.member)),
  ),
  tokenParam<CareTeam>('category', (r) => codingsOf(r.category)),
]);

/** `Contract?status=&authority=`: the ISPs an agency is a partner of. */
export const contractType = defineResourceType('Contract', [
  tokenParam<Contract>('status', (r) => codesOf(r.status)),
  referenceParam<Contract>('authority', ['Organization'], (r) => referencesOf(r.authority)),
]);

/** Every type the directory serves, in loading order (referenced before referencing). */
export const DIRECTORY_RESOURCE_TYPES = [organizationType, endpointType, practitionerType, practitionerRoleType, careTeamType, contractType] as const;
