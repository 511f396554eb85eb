/**
 * The directory's SMART discovery document (`/.well-known/smart-configuration`):
 * the hub-wide one (shared/auth/smart-configuration.ts) plus the scopes some kind
 * of agency may be granted, which the directory knows as the one that grants them.
 */
import { smartConfiguration, type SmartConfiguration, type SmartEndpoints } from '../../../shared/auth/smart-configuration.js';
import { AGENCY_TYPES } from '../../../shared/fhir/systems.js';
import { allowedScopesFor } from './agency-scopes.js';

export function directorySmartConfiguration(endpoints: SmartEndpoints): SmartConfiguration {
  return smartConfiguration(endpoints, [...new Set(AGENCY_TYPES.flatMap((type) => allowedScopesFor(type)))].sort());
}
