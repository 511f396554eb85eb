/**
 * `GET /fhir/metadata`: the directory's CapabilityStatement (no token needed:
 * clients read it to find out how to get one).
 */
import { capabilityStatement, type ResourceCapability } from '../../../shared/fhir/capability.js';
import { capabilitiesHandler } from '../../../shared/fhir/rest/metadata.js';
import { HUB_BASE } from '../../../shared/fhir/systems.js';
import { searchParamSummary } from '../../../shared/store/search-params.js';
import type { DirectoryContext } from '../context.js';
import { DIRECTORY_RESOURCE_TYPES } from '../resource-types.js';
import { idOrder } from '../../../shared/store/search-plan.js';

const CONTRACT_OPERATIONS = [
  { name: 'sign', definition: `${HUB_BASE}/OperationDefinition/Contract-sign` },
  { name: 'verify', definition: `${HUB_BASE}/OperationDefinition/Contract-verify` },
];

export function metadata(ctx: DirectoryContext) {
  const resources: ResourceCapability[] = DIRECTORY_RESOURCE_TYPES.map((definition) => ({
    type: definition.type,
    interactions: ['read', 'vread', 'update', 'create', 'search-type', 'history-instance'],
    searchParams: searchParamSummary(definition),
    sort: idOrder(definition.type),
    // The generic create route honours If-None-Exist (shared/fhir/rest/resource-routes.ts).
    conditionalCreate: true,
    ...(definition.type === 'Contract' ? { operations: CONTRACT_OPERATIONS } : {}),
  }));
  return capabilitiesHandler(capabilityStatement({
    service: 'directory',
    title: 'Partnership directory: agencies, endpoints, Named Person / Lead Professional, the signed ISP',
    baseUrl: ctx.fhirBase,
    resources,
  }));
}
