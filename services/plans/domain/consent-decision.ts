/**
 * THE consent decision: may this caller see this piece of a person's shared
 * record, now? One pure function, asked on every path — read, search (before
 * counting and paging), `_history`, `$render`, `$chronology`, the person's own
 * access, and the alerts service's delivery re-check (through view.ts).
 *
 * Default deny. In order, the first that applies decides:
 *   1. A person acting for themselves (a patient token) sees their own record and
 *      nothing else (`other-person`: answered as an unknown id, like every denied read).
 *   2. Break-glass (purpose of use `BTG`): an A&E or out-of-hours clinician with a
 *      stated reason reads (audited, the NP/LP notified); another agency type, or no
 *      reason, is refused — never silently downgraded to a normal read.
 *   3. The authoring agency sees what it wrote; the agency a request for assistance is
 *      assigned to sees that request.
 *   4. The person's Named Person / Lead Professional (the acting PractitionerRole the
 *      directory's CareTeam names) sees the record — within the ISP.
 *   5. Alerts: an alert already travels on the ISP's own basis (routed and re-checked
 *      by the alerts service), so consent only withholds it — an explicit `deny`
 *      provision for the recipient (or for anyone) and `alerts` stops a delivery or
 *      a chronology entry; otherwise the ISP's decision stands.
 *   6. Otherwise a Consent must permit it: an `active` Consent in its period with a
 *      permit provision, in its period, naming the caller's agency or practitioner
 *      role (or anyone), the category (or all) and the purpose (or any). A matching
 *      `deny` provision wins over any permit. And the ISP must allow the flow from
 *      the authoring agency to the caller for that category and purpose
 *      (`outside-isp` otherwise): consent never widens the ISP.
 *
 * Revocation is whatever the Consents say at the moment of the decision: the
 * caller reads them from Redis for each request, so a revoked or narrowed Consent
 * bites on the very next request, whatever tokens are outstanding.
 */
import type { AgencyType, ConsentCategory, DataCategory, Purpose } from '../../../shared/fhir/systems.js';
import { spanCovers, type ConsentActor, type ConsentRecord, type ConsentRule } from './consent.js';

/** The ISP data category each consent category travels as. */
export const ISP_CATEGORY: Readonly<Record<ConsentCategory, DataCategory>> = {
  plans: 'plan',
  assessments: 'assessment',
  requests: 'service-request',
  chronology: 'chronology',
  alerts: 'alert',
};

/** Agency types that may break the glass (unscheduled care). */
export const BREAK_GLASS_AGENCY_TYPES: readonly AgencyType[] = ['emergency-department', 'out-of-hours'];

/** The purpose a read is for when the caller names none: the shared plan is for care planning. */
export const DEFAULT_PURPOSE: Purpose = 'care-planning';

export type Requester =
  | {
      readonly kind: 'agency';
      readonly agencyId: string;
      readonly agencyType: AgencyType;
      /** `PractitionerRole/<id>` when a practitioner acts. */
      readonly practitionerRole?: string;
    }
  | {
      readonly kind: 'patient';
      /** The index Person the token's patient is, when the index knows them. */
      readonly personId?: string;
    };

/** How the caller asks: for what purpose, and whether the glass is broken. */
export interface AccessIntent {
  readonly purpose: Purpose;
  /** Purpose of use `BTG` with the reason stated (possibly empty: refused). */
  readonly breakGlass?: { readonly reason: string };
}

/** What the decision is about: one resource (or one chronology entry) of the subject. */
export interface AccessTarget {
  readonly category: ConsentCategory;
  /** The agency that wrote it. */
  readonly authorAgency: string;
  /** A request for assistance: the agency it is assigned to (which must see it to act on it). */
  readonly performerAgency?: string;
}

/** What the caller's service read for this request: the subject's Consents, NP/LP and the ISP. */
export interface DecisionFacts {
  /** The index Person the record is about. */
  readonly subjectPersonId: string;
  /** Every Consent about the subject, whatever its status. */
  readonly consents: readonly ConsentRecord[];
  /** The subject's current Named Person / Lead Professional roles (`PractitionerRole/<id>`). */
  readonly npLpRoles: readonly string[];
  /** Whether the ISP lets `sender` share `category` with `receiver` for `purpose` now (a pure snapshot decision). */
  readonly ispAllows: (sender: string, receiver: string, category: DataCategory, purpose: Purpose) => boolean;
  /** The moment of the decision (epoch ms). */
  readonly now: number;
}

export type PermitBasis = 'self' | 'break-glass' | 'author' | 'performer' | 'np-lp' | 'consent' | 'isp';
export type DenyReason = 'other-person' | 'break-glass-no-reason' | 'break-glass-not-allowed' | 'denied-by-consent' | 'no-consent' | 'outside-isp';

export type ConsentDecision =
  | {
      readonly permit: true;
      readonly basis: PermitBasis;
      /** The Consent that permitted it (`basis: consent`). */
      readonly consent?: string;
      /** The data goes to an agency other than the one that wrote it (BALP PrivacyDisclosure). */
      readonly crossAgency: boolean;
      readonly detail: string;
    }
  | {
      readonly permit: false;
      readonly reason: DenyReason;
      /** The Consent whose deny provision refused it (`reason: denied-by-consent`). */
      readonly consent?: string;
      readonly detail: string;
    };

/** The decision for one target. Pure: the same facts give the same answer. */
export function decideConsent(requester: Requester, intent: AccessIntent, target: AccessTarget, facts: DecisionFacts): ConsentDecision {
  if (requester.kind === 'patient') {
    return requester.personId !== undefined && requester.personId === facts.subjectPersonId
      ? { permit: true, basis: 'self', crossAgency: false, detail: 'the person reads their own record' }
      : { permit: false, reason: 'other-person', detail: "a person's own access reaches their own record only" };
  }
  const crossAgency = requester.agencyId !== target.authorAgency;

  if (intent.breakGlass) {
    const breakGlass = breakGlassRefusal(requester, intent.breakGlass.reason);
    if (breakGlass) return breakGlass;
    return { permit: true, basis: 'break-glass', crossAgency, detail: `break-glass by ${requester.agencyId}: ${intent.breakGlass.reason}` };
  }

  if (!crossAgency) return { permit: true, basis: 'author', crossAgency, detail: `${requester.agencyId} wrote it` };
  if (target.performerAgency === requester.agencyId) return { permit: true, basis: 'performer', crossAgency, detail: `the request is assigned to ${requester.agencyId}` };

  // Asked on every read: no closures or refusals built unless they are the answer (the garbage of each read is its GC tail).
  const ispCategory = ISP_CATEGORY[target.category];
  if (requester.practitionerRole !== undefined && facts.npLpRoles.includes(requester.practitionerRole)) {
    return facts.ispAllows(target.authorAgency, requester.agencyId, ispCategory, intent.purpose)
      ? { permit: true, basis: 'np-lp', crossAgency, detail: `${requester.practitionerRole} is the person's Named Person / Lead Professional` }
      : outsideIsp(target, requester, ispCategory, intent.purpose);
  }

  const denial = firstInForce(facts, 'deny', target.category, intent.purpose, requester);
  if (denial) {
    return { permit: false, reason: 'denied-by-consent', consent: denial.reference, detail: `${denial.reference} withholds ${target.category} from ${requester.agencyId}` };
  }

  // Alerts travel on the ISP's basis: consent only withholds them (above).
  if (target.category === 'alerts') return { permit: true, basis: 'isp', crossAgency, detail: 'alerts follow the ISP unless a Consent withholds them' };

  const grant = firstInForce(facts, 'permit', target.category, intent.purpose, requester);
  if (!grant) {
    return { permit: false, reason: 'no-consent', detail: `no Consent in force shares ${target.category} of this person with ${requester.agencyId} for ${intent.purpose}` };
  }
  return facts.ispAllows(target.authorAgency, requester.agencyId, ispCategory, intent.purpose)
    ? { permit: true, basis: 'consent', consent: grant.reference, crossAgency, detail: `${grant.reference} shares ${target.category} with ${requester.agencyId}` }
    : outsideIsp(target, requester, ispCategory, intent.purpose);
}

function outsideIsp(target: AccessTarget, requester: Extract<Requester, { kind: 'agency' }>, ispCategory: DataCategory, purpose: Purpose): ConsentDecision {
  return {
    permit: false,
    reason: 'outside-isp',
    detail: `the ISP does not let ${target.authorAgency} share ${ispCategory} with ${requester.agencyId} for ${purpose}`,
  };
}

/**
 * The first Consent in force (`active`, in its period) with a provision of `type` that
 * applies: in its period, naming the requester (or anyone), the category (or every one)
 * and the purpose (or any).
 */
function firstInForce(
  facts: DecisionFacts,
  type: ConsentRule['type'],
  category: ConsentCategory,
  purpose: Purpose,
  requester: Extract<Requester, { kind: 'agency' }>,
): ConsentRecord | undefined {
  for (const consent of facts.consents) {
    if (consent.status !== 'active' || !spanCovers(consent.period, facts.now)) continue;
    for (const rule of consent.rules) {
      if (
        rule.type === type &&
        spanCovers(rule.period, facts.now) &&
        (rule.categories.length === 0 || rule.categories.includes(category)) &&
        (rule.purposes.length === 0 || rule.purposes.includes(purpose)) &&
        (rule.actors.length === 0 || actorNamed(rule.actors, requester))
      ) {
        return consent;
      }
    }
  }
  return undefined;
}

function actorNamed(actors: readonly ConsentActor[], requester: Extract<Requester, { kind: 'agency' }>): boolean {
  for (const actor of actors) if (actorIs(actor, requester)) return true;
  return false;
}

/** Why a break-glass request is refused, or undefined when it may go ahead. */
export function breakGlassRefusal(requester: Extract<Requester, { kind: 'agency' }>, reason: string): ConsentDecision | undefined {
  if (!BREAK_GLASS_AGENCY_TYPES.includes(requester.agencyType)) {
    return {
      permit: false,
      reason: 'break-glass-not-allowed',
      detail: `break-glass is for A&E and out-of-hours services; ${requester.agencyId} is ${requester.agencyType}`,
    };
  }
  if (reason.trim().length === 0) return { permit: false, reason: 'break-glass-no-reason', detail: 'break-glass needs a stated reason' };
  return undefined;
}

function actorIs(actor: ConsentActor, requester: Extract<Requester, { kind: 'agency' }>): boolean {
  if (actor.kind === 'agency') return actor.id === requester.agencyId;
  // `PractitionerRole/<id>` compared without building it.
  const role = requester.practitionerRole;
  return role !== undefined && role.length === actor.id.length + 17 && role.startsWith('PractitionerRole/') && role.endsWith(actor.id);
}
