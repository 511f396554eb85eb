/**
 * How a request asks the consent decision, and the alerts service's delivery re-check.
 *
 * A caller names the purpose of a read with `X-Purpose-Of-Use` (one of the ISP's
 * purposes; none means `care-planning`). Break-glass is `X-Purpose-Of-Use: BTG` (HL7
 * v3 ActReason) with `X-Break-Glass-Reason: <why>` — without a reason it is refused
 * with 400 before anything is read; an agency type not allowed to break the glass is
 * refused with 403, also before anything is read (operations/common.ts `callerOf`), both audited.
 */
import type { Request } from 'express';
import { badRequest } from '../../shared/fhir/outcome.js';
import type { AgencyType, Purpose } from '../../shared/fhir/systems.js';
import type { ResourceStore } from '../../shared/store/resource-store.js';
import { isPurpose, type ConsentRecord } from './domain/consent.js';
import { decideConsent, DEFAULT_PURPOSE, type AccessIntent, type ConsentDecision } from './domain/consent-decision.js';
import { consentRecordsOf } from './consent-store.js';
import { personOfPatientReference, type ConsentFactsSources } from './consent-facts.js';

export const PURPOSE_HEADER = 'x-purpose-of-use';
export const BREAK_GLASS_REASON_HEADER = 'x-break-glass-reason';
/** HL7 v3 ActReason code for break-the-glass access. */
export const BREAK_GLASS = 'BTG';
const MAX_REASON = 500;

/** The purpose and break-glass the request asks for (400 for one it cannot name). */
export function intentOf(req: Request): AccessIntent {
  const purposeHeader = headerOf(req, PURPOSE_HEADER);
  const reason = headerOf(req, BREAK_GLASS_REASON_HEADER);
  if (purposeHeader === BREAK_GLASS) {
    if (!reason) throw badRequest(`Break-glass needs a stated reason: send ${BREAK_GLASS_REASON_HEADER}`, BREAK_GLASS_REASON_HEADER);
    return { purpose: 'emergency-care', breakGlass: { reason: reason.slice(0, MAX_REASON) } };
  }
  if (reason !== undefined) throw badRequest(`${BREAK_GLASS_REASON_HEADER} goes with ${PURPOSE_HEADER}: ${BREAK_GLASS}`, BREAK_GLASS_REASON_HEADER);
  if (purposeHeader === undefined) return { purpose: DEFAULT_PURPOSE };
  if (!isPurpose(purposeHeader)) throw badRequest(`${PURPOSE_HEADER} is ${BREAK_GLASS} or one of the ISP's purposes`, PURPOSE_HEADER);
  return { purpose: purposeHeader };
}

function headerOf(req: Request, name: string): string | undefined {
  const value = req.headers[name];
  const text = Array.isArray(value) ? value.join(', ') : value;
  return text === undefined ? undefined : text.trim();
}

/**
 * The delivery re-check of the alerts service (through services/plans/view.ts): may this
 * alert about `personId`, raised by `senderAgency`, reach `recipient` now? The same
 * decision as every read, for the category `alerts` — the ISP's statutory basis stands
 * unless a Consent in force withholds the person's alerts from the recipient (or from
 * everyone). The Consents are read now, so a withholding bites at the next attempt.
 */
export async function alertDeliveryDecision(consents: ResourceStore, input: AlertDeliveryQuestion): Promise<ConsentDecision> {
  return alertDeliveryDecisionOver(await consentRecordsOf(consents, input.personId), input);
}

/** The delivery re-check's question: this alert about `personId`, raised by `senderAgency`, to `recipient`, now. */
export interface AlertDeliveryQuestion {
  readonly personId: string;
  readonly senderAgency: string;
  readonly recipient: { readonly id: string; readonly type: AgencyType };
  readonly purpose: Purpose;
  readonly now: Date;
}

/** `alertDeliveryDecision` over the person's Consents already read (kept-consents.ts keeps them while no Consent is written). */
export function alertDeliveryDecisionOver(records: readonly ConsentRecord[], input: AlertDeliveryQuestion): ConsentDecision {
  return decideConsent(
    { kind: 'agency', agencyId: input.recipient.id, agencyType: input.recipient.type },
    { purpose: input.purpose },
    { category: 'alerts', authorAgency: input.senderAgency },
    // The alerts service has checked the ISP for this delivery already; NP/LP standing does not widen an alert.
    { subjectPersonId: input.personId, consents: records, npLpRoles: [], ispAllows: () => true, now: input.now.getTime() },
  );
}

/** Whether the caller may ask about this person at all: an agency may (each record is then decided); a person (a patient token) only about themselves. */
export async function mayAskAbout(sources: ConsentFactsSources, patient: string | undefined, personId: string): Promise<boolean> {
  return patient === undefined || (await personOfPatientReference(sources, patient)) === personId;
}

/**
 * Of the agencies that raised alerts about `personId`, those whose alerts a Consent in force
 * withholds from `agencyId` now (the same decision as the delivery re-check, for the chronology).
 */
export async function alertSendersWithheld(
  consents: ResourceStore,
  input: { readonly personId: string; readonly agency: { readonly id: string; readonly type: AgencyType }; readonly purpose: Purpose; readonly senders: readonly string[]; readonly now: Date },
): Promise<Set<string>> {
  if (input.senders.length === 0) return new Set();
  const records = await consentRecordsOf(consents, input.personId);
  const facts = { subjectPersonId: input.personId, consents: records, npLpRoles: [], ispAllows: () => true, now: input.now.getTime() };
  return new Set(
    input.senders.filter(
      (sender) => !decideConsent({ kind: 'agency', agencyId: input.agency.id, agencyType: input.agency.type }, { purpose: input.purpose }, { category: 'alerts', authorAgency: sender }, facts).permit,
    ),
  );
}
