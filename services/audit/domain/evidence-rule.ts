/**
 * Which logged exchanges count as evidence for a maturity criterion (DESIGN.md §2).
 *
 * A successful exchange (outcome 0) is evidence for every criterion it claims.
 * Failed or refused exchanges never count as evidence of success — with one
 * exception: a *correct denial* is evidence for the two criteria that are about
 * refusing: PD-L5 (the Named Person / Lead Professional revoked access, so it is
 * refused) and SI-L3 (one security model authenticates and authorises every
 * exchange). A denial is outcome 4 (a minor failure: refused by the hub); a serious
 * failure (8, 12) is the hub failing, never evidence.
 */
import type { CriterionCode } from '../../../shared/maturity/catalogue.js';

/** The criteria a correct refusal demonstrates. */
export const DENIAL_CRITERIA: ReadonlySet<CriterionCode> = new Set<CriterionCode>(['PD-L5', 'SI-L3']);

/** AuditEvent.outcome of a refusal the hub made on purpose (bad input, no scope, no consent). */
export const DENIAL_OUTCOME = '4';

export function countsAsEvidence(code: CriterionCode, outcome: string): boolean {
  if (outcome === '0') return true;
  return outcome === DENIAL_OUTCOME && DENIAL_CRITERIA.has(code);
}
