/**
 * Where an alert goes (MA-L4): every agency the ISP lets the sender share the
 * `alert` data category with for the alert's purpose (the registry's route
 * targets, the sender never among them), narrowed — never widened — by the
 * MessageHeader's destinations. A destination the ISP does not allow refuses
 * the whole message (403, nothing accepted): the sender asked for a flow the
 * partnership did not agree to, and hearing so beats a silent partial send.
 * Pure.
 */
import type { RouteTarget } from '../../../shared/isp/evaluator.js';
import type { AgencyType, DataCategory } from '../../../shared/fhir/systems.js';

/** One recipient of an alert, with what the ISP term lets it receive. */
export interface Recipient {
  readonly agencyId: string;
  readonly agencyType: AgencyType;
  readonly partnership: string;
  /** The ISP that allows the flow. */
  readonly isp: string;
  /** The data categories the allowing term lists (data minimisation: minimise.ts). */
  readonly categories: readonly DataCategory[];
  readonly crossesBoundary: boolean;
}

export type Routing =
  | { readonly ok: true; readonly recipients: readonly Recipient[] }
  /** Destinations the ISP does not route this alert to (or the sender itself). */
  | { readonly ok: false; readonly notAllowed: readonly string[] };

export function routeAlert(targets: readonly RouteTarget[], senderAgency: string, destinations?: readonly string[]): Routing {
  const allowed = targets.filter((t) => t.agency.id !== senderAgency).map(recipientOf);
  if (!destinations) return { ok: true, recipients: sortById(allowed) };
  const wanted = new Set(destinations);
  const notAllowed = [...wanted].filter((id) => !allowed.some((r) => r.agencyId === id));
  if (notAllowed.length > 0) return { ok: false, notAllowed };
  return { ok: true, recipients: sortById(allowed.filter((r) => wanted.has(r.agencyId))) };
}

function recipientOf(target: RouteTarget): Recipient {
  return {
    agencyId: target.agency.id,
    agencyType: target.agency.type,
    partnership: target.agency.partnership,
    isp: target.isp,
    categories: target.term.categories,
    crossesBoundary: target.crossesBoundary,
  };
}

const sortById = (recipients: Recipient[]) => [...recipients].sort((a, b) => a.agencyId.localeCompare(b.agencyId));

/**
 * What an accepted alert shows (audited with the acceptance): IM-L4 (routed
 * under the signed ISP), IM-L5 when a recipient is across a partnership
 * boundary, PD-L4 when it carries NP/LP contact details. Not the MA criteria:
 * acceptance is a promise to deliver, not a delivery — MA-L3/L4/L5 are claimed
 * by each delivery as its recipient acknowledges it (delivery-criteria.ts).
 */
export function acceptanceCriteria(recipients: readonly Recipient[], carriesNpLp: boolean): string[] {
  const criteria = ['IM-L4'];
  if (recipients.some((r) => r.crossesBoundary)) criteria.push('IM-L5');
  if (carriesNpLp) criteria.push('PD-L4');
  return criteria;
}
