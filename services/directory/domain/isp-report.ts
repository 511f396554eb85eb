/**
 * What the directory says about an ISP: the `$verify` answer and the maturity
 * criteria an ISP shows. Pure: callers pass the parsed ISP, its signature
 * check against the registered keys, the partners' agency records and the clock.
 */
import type { Parameters, ParametersParameter } from 'fhir/r4.js';
import type { AgencyType } from '../../../shared/fhir/systems.js';
import type { AgencyRecord } from '../../../shared/isp/agencies.js';
import type { IspDocument } from '../../../shared/isp/contract.js';
import { fhirDateSpan } from '../../../shared/isp/dates.js';
import type { IspVerification } from '../../../shared/isp/signatures.js';

/** Agencies beyond health and social care that IM-L5 asks an ISP to include. */
const OTHER_AGENCY_TYPES: ReadonlySet<AgencyType> = new Set<AgencyType>(['police', 'fire-rescue', 'housing', 'third-sector']);

/** Whether `now` is past the ISP's review date (the whole span of a partial date still counts as before). */
export function reviewDatePassed(isp: IspDocument, now: Date): boolean {
  const span = fhirDateSpan(isp.reviewDate);
  // An unreadable review date cannot be shown to be in the future, so it counts as passed.
  return !span || now.getTime() >= span.end.getTime();
}

/**
 * The maturity criteria an ISP shows when it is read or verified:
 * - IM-L3 always: it exists as a machine-readable document (it parsed);
 * - IM-L4 when every partner has validly signed the current content (PIA included);
 * - IM-L5 when, besides, it is within its (enforced) review date, includes an
 *   agency beyond health and social care, and spans more than one partnership.
 */
export function ispCriteria(
  isp: IspDocument,
  verification: IspVerification,
  agencies: ReadonlyMap<string, AgencyRecord>,
  now: Date,
): string[] {
  const criteria = ['IM-L3'];
  if (!verification.allPartnersSigned) return criteria;
  criteria.push('IM-L4');
  const partners = isp.partners.map((p) => agencies.get(p.agency)).filter((a): a is AgencyRecord => a !== undefined);
  const includesOtherAgencies = partners.some((a) => OTHER_AGENCY_TYPES.has(a.type));
  const partnerships = new Set(partners.map((a) => a.partnership).filter((p) => p !== undefined));
  if (!reviewDatePassed(isp, now) && includesOtherAgencies && partnerships.size > 1) criteria.push('IM-L5');
  return criteria;
}

/**
 * The `$verify` answer: per partner whether it signed and whether the
 * signature holds for the current content (with the reason when not), then
 * `allSigned`, `reviewDate`, `reviewDatePassed` and the digest checked.
 */
export function verificationParameters(isp: IspDocument, verification: IspVerification, now: Date): Parameters {
  const partners: ParametersParameter[] = verification.partners.map((p) => ({
    name: 'partner',
    part: [
      { name: 'agency', valueReference: { reference: `Organization/${p.agency}` } },
      { name: 'signed', valueBoolean: p.signed },
      { name: 'valid', valueBoolean: p.valid },
      ...(p.when ? [{ name: 'when', valueDateTime: p.when }] : []),
      ...(p.reason ? [{ name: 'reason', valueCode: p.reason }] : []),
      ...(p.detail ? [{ name: 'detail', valueString: p.detail }] : []),
    ],
  }));
  return {
    resourceType: 'Parameters',
    parameter: [
      { name: 'isp', valueReference: { reference: `Contract/${isp.id}` } },
      { name: 'digest', valueString: verification.digest },
      ...partners,
      { name: 'allSigned', valueBoolean: verification.allPartnersSigned },
      { name: 'reviewDate', valueDateTime: isp.reviewDate },
      { name: 'reviewDatePassed', valueBoolean: reviewDatePassed(isp, now) },
    ],
  };
}

/** Whether a `$sign` signature is shaped as a compact JWS (three base64url parts); whether it verifies is checked after. */
export function isCompactJws(text: string): boolean {
  return /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/.test(text);
}
