/** CapabilityStatement builder: each service declares what it serves, once. */
import type { CapabilityStatement, CapabilityStatementRestResource } from 'fhir/r4.js';

export interface ResourceCapability {
  readonly type: CapabilityStatementRestResource['type'];
  readonly interactions: ReadonlyArray<'read' | 'vread' | 'update' | 'create' | 'search-type' | 'history-instance' | 'delete'>;
  readonly searchParams?: ReadonlyArray<{ name: string; type: 'token' | 'reference' | 'date' | 'string' | 'number' | 'uri' }>;
  readonly operations?: ReadonlyArray<{ name: string; definition: string }>;
  readonly versioned?: boolean;
  /** Update by search criteria (`PUT [type]?…`). */
  readonly conditionalUpdate?: boolean;
  /** Create unless a search finds it (`If-None-Exist`). */
  readonly conditionalCreate?: boolean;
  /** `_include` / `_revinclude` values a search of the type serves. */
  readonly searchInclude?: readonly string[];
  readonly searchRevInclude?: readonly string[];
  /** The order searches come in and its reverse, as `_sort` values (shared/store/search-plan.ts `SearchOrder`); none: every `_sort` refused. */
  readonly sort?: { readonly by: string; readonly reverse: string };
}

/** What a searched type's `documentation` says of `_sort` (R4 has no structured element for it); nothing for a type not searched. */
function sortDocumentation(r: ResourceCapability): { documentation?: string } {
  if (!r.interactions.includes('search-type')) return {};
  return {
    documentation: r.sort
      ? `Search results come in ${r.sort.by} order: _sort=${r.sort.by} asks for it, _sort=${r.sort.reverse} for the reverse; any other _sort is refused (400 not-supported).`
      : 'Search results come in one fixed order; every _sort is refused (400 not-supported).',
  };
}

const COMPARTMENTS_NOT_SERVED =
  'Compartment search (GET [compartment]/[id]/[type], e.g. Patient/123/Flag) is not supported: it is answered 400 not-supported naming the type search to use instead (e.g. GET Flag?subject=Patient/123).';

export function capabilityStatement(options: {
  service: string;
  title: string;
  baseUrl: string;
  resources: readonly ResourceCapability[];
  systemOperations?: ReadonlyArray<{ name: string; definition: string }>;
  transaction?: boolean;
}): CapabilityStatement {
  return {
    resourceType: 'CapabilityStatement',
    status: 'active',
    date: new Date().toISOString().slice(0, 10),
    kind: 'instance',
    title: options.title,
    software: { name: `infoshare-hub ${options.service}` },
    implementation: { description: options.title, url: options.baseUrl },
    fhirVersion: '4.0.1',
    format: ['application/fhir+json', 'json'],
    rest: [
      {
        mode: 'server',
        security: {
          cors: false,
          service: [
            {
              coding: [{ system: 'http://terminology.hl7.org/CodeSystem/restful-security-service', code: 'SMART-on-FHIR' }],
            },
          ],
          description: 'SMART Backend Services: private_key_jwt client assertion at the directory token endpoint; ES256 access tokens.',
        },
        resource: options.resources.map((r) => ({
          type: r.type,
          ...sortDocumentation(r),
          versioning: r.versioned === false ? 'no-version' : 'versioned',
          readHistory: r.interactions.includes('vread'),
          // FHIR JSON has no empty arrays: a type served only through its operations lists no interaction.
          ...(r.interactions.length ? { interaction: r.interactions.map((code) => ({ code })) } : {}),
          ...(r.conditionalCreate ? { conditionalCreate: true } : {}),
          ...(r.conditionalUpdate ? { conditionalUpdate: true } : {}),
          ...(r.searchInclude?.length ? { searchInclude: [...r.searchInclude] } : {}),
          ...(r.searchRevInclude?.length ? { searchRevInclude: [...r.searchRevInclude] } : {}),
          ...(r.searchParams?.length ? { searchParam: r.searchParams.map((p) => ({ name: p.name, type: p.type })) } : {}),
          ...(r.operations?.length ? { operation: r.operations.map((o) => ({ name: o.name, definition: o.definition })) } : {}),
        })),
        // No `compartment`: compartment search is refused with a 400 naming the type search to use (shared/http/compartment.ts).
        documentation: COMPARTMENTS_NOT_SERVED,
        interaction: options.transaction ? [{ code: 'transaction' }] : undefined,
        ...(options.systemOperations?.length ? { operation: options.systemOperations.map((o) => ({ name: o.name, definition: o.definition })) } : {}),
      },
    ],
  };
}
