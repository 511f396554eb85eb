/**
 * Agencies as the directory holds them: FHIR Organizations read into what the
 * ISP evaluator, the token endpoint and the other services reason about. Pure.
 *
 * Representation (the directory's fixtures and every agency registration follow it):
 * - `Organization.type` carries one coding in `CodeSystems.agencyType`
 *   (`nhs-board`, `social-work`, …, or `partnership` for the partnership itself);
 *   an Organization without one is not an agency (e.g. a GP practice listed for
 *   information only).
 * - `Organization.partOf` = `Organization/<partnership id>` for an agency.
 * - `Extensions.agencyPublicJwk` (valueString, JSON) = the public key the
 *   agency's system signs client assertions and ISP signatures with.
 * - `Extensions.patientIdentifierSystem` (valueUri) = the identifier system of
 *   the agency's own patient records (defaults to `agencyPatientSystem(id)`).
 * - `active: false` retires an agency: it gets no tokens and takes part in no flow.
 */
import type { JsonWebKey } from 'node:crypto';
import type { Organization } from 'fhir/r4.js';
import { AGENCY_TYPES, CodeSystems, Extensions, agencyPatientSystem, type AgencyType } from '../fhir/systems.js';
import { agencyIdOf } from './contract.js';
import type { FlowAgency } from './evaluator.js';

export interface AgencyRecord {
  /** The Organization id, which is also the agency's OAuth client id. */
  readonly id: string;
  readonly name?: string;
  readonly type: AgencyType;
  /** Organization id of the partnership it belongs to (`partOf`); absent for a partnership. */
  readonly partnership?: string;
  readonly active: boolean;
  /** The registered public JWK, parsed; absent when none is registered or it is not a JSON object. */
  readonly publicJwk?: Readonly<Record<string, unknown>>;
  readonly patientIdentifierSystem: string;
}

/** The agency an Organization describes, or undefined when it carries no agency type. */
export function agencyFromOrganization(org: Organization): AgencyRecord | undefined {
  if (!org.id) return undefined;
  const type = agencyTypeOf(org);
  if (!type) return undefined;
  const partnership = agencyIdOf(org.partOf?.reference);
  const publicJwk = publicJwkOf(org);
  return {
    id: org.id,
    ...(org.name ? { name: org.name } : {}),
    type,
    ...(partnership && type !== 'partnership' ? { partnership } : {}),
    active: org.active !== false,
    ...(publicJwk ? { publicJwk } : {}),
    patientIdentifierSystem: patientIdentifierSystemOf(org) ?? agencyPatientSystem(org.id),
  };
}

/** The first agency-type coding of an Organization. */
export function agencyTypeOf(org: Organization): AgencyType | undefined {
  for (const concept of org.type ?? []) {
    for (const coding of concept.coding ?? []) {
      if (coding.system === CodeSystems.agencyType && isAgencyType(coding.code)) return coding.code;
    }
  }
  return undefined;
}

export function isAgencyType(code: unknown): code is AgencyType {
  return (AGENCY_TYPES as readonly unknown[]).includes(code);
}

/** The registered public JWK, or undefined when absent or not a JSON object (never trusted half-read). */
export function publicJwkOf(org: Organization): Readonly<Record<string, unknown>> | undefined {
  const text = org.extension?.find((e) => e.url === Extensions.agencyPublicJwk)?.valueString;
  if (!text) return undefined;
  try {
    const parsed: unknown = JSON.parse(text);
    return typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed) ? (parsed as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

function patientIdentifierSystemOf(org: Organization): string | undefined {
  return org.extension?.find((e) => e.url === Extensions.patientIdentifierSystem)?.valueUri;
}

/**
 * The agency as the ISP evaluator sees it: a sending/receiving agency type and a
 * partnership. Undefined for a partnership itself, a retired agency, or an
 * agency not attached to a partnership — none of those may take part in a flow.
 */
export function flowAgencyOf(agency: AgencyRecord): FlowAgency | undefined {
  if (agency.type === 'partnership' || !agency.active || !agency.partnership) return undefined;
  return { id: agency.id, type: agency.type, partnership: agency.partnership };
}

/** Registered public keys by agency id, as `verifyIspSignatures` takes them. */
export function publicKeysOf(agencies: readonly AgencyRecord[]): Map<string, JsonWebKey> {
  const keys = new Map<string, JsonWebKey>();
  for (const a of agencies) if (a.publicJwk) keys.set(a.id, a.publicJwk);
  return keys;
}
