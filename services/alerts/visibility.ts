/**
 * Which alerts an agency may see when it looks a person up, and how much of
 * each: the sender sees its own alert whole; any other agency sees it only if
 * the ISP lets the sender share the `alert` category with it for the alert's
 * purpose now — the same rule that routes the alert — and then only the data
 * categories the allowing term lists (domain/minimise.ts). An alert an agency may not
 * see is, to it, not there (never a 403 that would reveal it exists).
 *
 * Consent is asked after the ISP, as a delivery attempt asks it (workers/deliveries.ts): a Consent
 * in force withholding the person's alerts from the agency keeps the alert out of its look-ups too —
 * what consent keeps from being delivered is not shown on look-up either.
 */
import type { AgencyType, DataCategory, Purpose } from '../../shared/fhir/systems.js';
import type { IspRegistry } from '../../shared/isp/registry.js';
import type { AlertConsent, PlansView } from '../plans/view.js';
import type { StoredFlag } from './store.js';

export interface FlagView {
  readonly agencyType: AgencyType;
  readonly categories: readonly DataCategory[];
  /** The look-up crosses a partnership boundary. */
  readonly crossesBoundary: boolean;
}

/** How `agencyId` may see `flag`, or undefined when it may not. */
export async function viewOf(isp: IspRegistry, flag: StoredFlag, agencyId: string): Promise<FlagView | undefined> {
  const agency = await isp.agency(agencyId);
  if (!agency?.active) return undefined;
  if (flag.sender === agencyId) return { agencyType: agency.type, categories: ['alert', 'np-lp-contact'], crossesBoundary: false };
  const decision = await isp.checkFlow({ senderAgencyId: flag.sender, receiverAgencyId: agencyId, category: 'alert', purpose: flag.purpose as Purpose });
  return decision.allowed ? { agencyType: agency.type, categories: decision.term.categories, crossesBoundary: decision.crossesBoundary } : undefined;
}

/**
 * The Consent decision withholding `flag` from the agency that looks it up (`view` from `viewOf`), or
 * undefined when it may be shown. The sender always sees its own alert: consent governs what reaches others.
 */
export async function consentWithholding(
  consent: Pick<PlansView, 'alertDelivery'>,
  flag: StoredFlag,
  agencyId: string,
  view: FlagView,
  now: Date,
): Promise<AlertConsent | undefined> {
  if (flag.sender === agencyId) return undefined;
  const decision = await consent.alertDelivery({ personId: flag.personId, senderAgency: flag.sender, recipient: { id: agencyId, type: view.agencyType }, purpose: flag.purpose as Purpose, now });
  return decision.permit ? undefined : decision;
}
