/**
 * Which maturity criteria a delivery demonstrates (DESIGN.md §2, Messages &
 * Alerts). Pure.
 *
 * - MA-L4: a structured alert reached an agency the ISP routes it to (each
 *   delivery to a routed agency, pushed and acknowledged or pulled from its inbox).
 * - MA-L5: it crossed a partnership boundary, or reached A&E, out-of-hours,
 *   police or fire & rescue.
 * - MA-L3: it was acknowledged (an `ok` response message) — pushed or pulled.
 */
import type { AgencyType } from '../../../shared/fhir/systems.js';

/** Agency types whose receiving an alert is MA-L5 evidence ("A&E / out-of-hours / police / fire"). */
export const MA_L5_RECEIVERS: readonly AgencyType[] = ['emergency-department', 'out-of-hours', 'police', 'fire-rescue'];

/** An acknowledgement: shared electronically and acknowledged. */
export const ACKNOWLEDGEMENT_CRITERIA = ['MA-L3'] as const;

/** The criteria of a message reaching `recipientType` (over a partnership boundary or not). */
export function deliveryCriteria(recipientType: AgencyType, crossesBoundary: boolean): string[] {
  return crossesBoundary || MA_L5_RECEIVERS.includes(recipientType) ? ['MA-L4', 'MA-L5'] : ['MA-L4'];
}
