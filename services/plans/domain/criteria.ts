/**
 * Which maturity criteria each plans exchange demonstrates (DESIGN.md §2),
 * claimed only on the exchange that shows them. Pure.
 *
 * - AP-L2: the latest version printed in an agreed format (`$render`).
 * - AP-L3: a plan or assessment shared as structured FHIR — written into the
 *   shared system, or read by another agency's system.
 * - AP-L4: another agency downloads the latest version; earlier versions
 *   (`_history`, vread, `$diff`) or the chronology read by the Named Person /
 *   Lead Professional; a request for assistance managed electronically.
 * - AP-L5: an integrated chronology across agencies; a plan shared across a
 *   partnership boundary.
 * - IM-L4 / IM-L5: the flow was checked against the signed ISP (across a boundary).
 */
import type { AccessDecision, PlansType } from './access.js';

type Permit = AccessDecision & { permit: true };

const unique = (codes: readonly string[]): string[] => [...new Set(codes)];

/** Another agency than the author reads it (the flow was checked), or the assigned agency reads its request. */
function shared(decision: Permit): boolean {
  return decision.basis !== 'author';
}

function flowCriteria(decision: Permit): string[] {
  return [...decision.criteria, ...(decision.crossesBoundary ? ['AP-L5'] : [])];
}

/** A create or update: structured FHIR in the shared system; a request for assistance managed electronically. */
export function writeCriteria(type: PlansType): string[] {
  return type === 'ServiceRequest' ? ['AP-L4'] : ['AP-L3'];
}

/** A read or search hit of the latest version. */
export function latestReadCriteria(type: PlansType, decision: Permit): string[] {
  if (!shared(decision)) return [];
  return unique([...(type === 'ServiceRequest' ? ['AP-L4'] : ['AP-L3', 'AP-L4']), ...flowCriteria(decision)]);
}

/** `_history`, vread or `$diff`: earlier versions, AP-L4 when the Named Person / Lead Professional reads them. */
export function earlierVersionsCriteria(decision: Permit, byNamedProfessional: boolean): string[] {
  return unique([...(byNamedProfessional ? ['AP-L4'] : []), ...(shared(decision) ? flowCriteria(decision) : [])]);
}

/** `$render`: the printable latest version (AP-L2), downloaded by another agency (AP-L4). */
export function renderCriteria(decision: Permit): string[] {
  return unique(['AP-L2', ...(shared(decision) ? ['AP-L4', ...flowCriteria(decision)] : [])]);
}

/** `$chronology`: integrated across agencies (AP-L5) when its entries come from more than one; read by the NP/LP (AP-L4). */
export function chronologyCriteria(agencies: number, byNamedProfessional: boolean, decisions: readonly Permit[]): string[] {
  const flows = decisions.filter(shared).flatMap(flowCriteria);
  return unique([...(byNamedProfessional ? ['AP-L4'] : []), ...(agencies > 1 ? ['AP-L5'] : []), ...flows]);
}
