/**
 * ISP enforcement: may this agency send this category of data to that agency
 * for this purpose, now? Pure — callers pass the parsed ISP, its signature
 * verification (against the directory's registered keys) and the clock.
 *
 * A flow is allowed only when, in this order:
 *   1. every partner has validly signed the ISP's current content,
 *   2. the ISP is in force (after applies.start, not past its review date),
 *   3. sender and receiver are both partners,
 *   4. a flow term lists the sender's type → the receiver's type with the
 *      category and the purpose, and — when the two agencies are in
 *      different partnerships — is marked `crossPartnership`.
 * The first failing check is the reason given, so an unsigned or expired
 * ISP is reported as such rather than as a missing flow.
 */
import type { Purpose, DataCategory } from '../fhir/systems.js';
import type { FlowAgencyType, IspDocument, IspFlow } from './contract.js';
import { fhirDateSpan } from './dates.js';
import type { IspVerification } from './signatures.js';

/** An agency as the directory knows it (Organization id, agency type, partnership id). */
export interface FlowAgency {
  readonly id: string;
  readonly type: FlowAgencyType;
  readonly partnership: string;
}

export interface FlowRequest {
  readonly senderAgency: FlowAgency;
  readonly receiverAgency: FlowAgency;
  readonly category: DataCategory;
  readonly purpose: Purpose;
}

export type FlowDenialReason =
  | 'not-signed-by-all'
  | 'review-date-passed'
  | 'not-yet-in-force'
  | 'not-a-partner'
  | 'flow-not-listed';

export type FlowDecision =
  | {
      readonly allowed: true;
      readonly isp: string;
      /** The term that allows the flow. */
      readonly term: IspFlow;
      /** Sender and receiver are in different partnerships (evidence for MA-L5 / IM-L5). */
      readonly crossesBoundary: boolean;
    }
  | {
      readonly allowed: false;
      readonly isp: string;
      readonly reason: FlowDenialReason;
      /** Says what is wrong in words a partnership's staff understand (goes into the 403 and the audit). */
      readonly detail: string;
    };

/** Decides one flow under one ISP. */
export function evaluateFlow(isp: IspDocument, verification: IspVerification, flow: FlowRequest, now: Date): FlowDecision {
  const deny = (reason: FlowDenialReason, detail: string): FlowDecision => ({ allowed: false, isp: isp.id, reason, detail });
  const { senderAgency: sender, receiverAgency: receiver, category, purpose } = flow;

  if (verification.isp !== isp.id) {
    return deny('not-signed-by-all', `The signature check given is for ISP ${verification.isp}, not ${isp.id}`);
  }
  if (!verification.allPartnersSigned) {
    const missing = verification.partners.filter((p) => !p.valid).map((p) => `${p.agency} (${p.reason ?? 'invalid'})`);
    return deny('not-signed-by-all', `ISP ${isp.id} is not signed by every partner for its current content: ${missing.join(', ')}`);
  }
  const inForce = inForceProblem(isp, now);
  if (inForce) return deny(inForce.reason, inForce.detail);

  const partners = new Set(isp.partners.map((p) => p.agency));
  const outsiders = [sender, receiver].filter((a) => !partners.has(a.id)).map((a) => a.id);
  if (outsiders.length > 0) {
    return deny('not-a-partner', `${[...new Set(outsiders)].join(' and ')} ${outsiders.length > 1 ? 'are' : 'is'} not a partner of ISP ${isp.id}`);
  }

  const crossesBoundary = sender.partnership !== receiver.partnership;
  const listed = isp.flows.filter(
    (f) => f.sender === sender.type && f.receiver === receiver.type && f.categories.includes(category) && f.purposes.includes(purpose),
  );
  const term = listed.find((f) => !crossesBoundary || f.crossPartnership);
  if (term) return { allowed: true, isp: isp.id, term, crossesBoundary };

  const what = `${sender.type} → ${receiver.type}: ${category} for ${purpose}`;
  if (listed.length > 0) {
    return deny(
      'flow-not-listed',
      `ISP ${isp.id} allows ${what} only within a partnership; ${sender.id} (${sender.partnership}) and ${receiver.id} (${receiver.partnership}) are in different partnerships`,
    );
  }
  return deny('flow-not-listed', `ISP ${isp.id} does not list the flow ${what}`);
}

function inForceProblem(isp: IspDocument, now: Date): { reason: FlowDenialReason; detail: string } | undefined {
  const review = fhirDateSpan(isp.reviewDate);
  // parseIspContract guarantees a valid review date; an unreadable one refuses rather than allows.
  if (!review || now.getTime() >= review.end.getTime()) {
    return {
      reason: 'review-date-passed',
      detail: `ISP ${isp.id} passed its review date ${isp.reviewDate}; flows are refused until the partners review it and sign again`,
    };
  }
  if (isp.appliesFrom !== undefined) {
    const start = fhirDateSpan(isp.appliesFrom);
    if (!start || now.getTime() < start.start.getTime()) {
      return { reason: 'not-yet-in-force', detail: `ISP ${isp.id} is in force only from ${isp.appliesFrom}` };
    }
  }
  return undefined;
}

/**
 * The span of time around `now` in which no ISP of `isps` comes into force or passes its review date:
 * every decision `evaluateFlow` makes under these ISPs is the same at any instant of it (the clock
 * enters a decision only through `inForceProblem`). `from` inclusive, `until` exclusive, in ms.
 */
export function unchangedInForceSpan(isps: readonly IspInForce[], now: Date): { readonly from: number; readonly until: number } {
  const t = now.getTime();
  let from = Number.NEGATIVE_INFINITY;
  let until = Number.POSITIVE_INFINITY;
  for (const { isp } of isps) {
    const instants = [fhirDateSpan(isp.reviewDate)?.end, isp.appliesFrom === undefined ? undefined : fhirDateSpan(isp.appliesFrom)?.start];
    for (const instant of instants) {
      if (!instant) continue;
      const at = instant.getTime();
      if (at <= t) from = Math.max(from, at);
      else until = Math.min(until, at);
    }
  }
  return { from, until };
}

/** A receiver an ISP routes a category/purpose to, with the term that allows it. */
export interface RouteTarget {
  readonly agency: FlowAgency;
  readonly isp: string;
  readonly term: IspFlow;
  readonly crossesBoundary: boolean;
}

/**
 * Every agency in `agencies` (other than the sender) the ISP allows the
 * sender to send this category for this purpose to — where a structured
 * alert goes (MA-L4). Empty when the ISP is unsigned or past review.
 */
export function routeTargets(
  isp: IspDocument,
  verification: IspVerification,
  sender: FlowAgency,
  category: DataCategory,
  purpose: Purpose,
  agencies: readonly FlowAgency[],
  now: Date,
): RouteTarget[] {
  const targets: RouteTarget[] = [];
  for (const receiver of agencies) {
    if (receiver.id === sender.id) continue;
    const decision = evaluateFlow(isp, verification, { senderAgency: sender, receiverAgency: receiver, category, purpose }, now);
    if (decision.allowed) targets.push({ agency: receiver, isp: decision.isp, term: decision.term, crossesBoundary: decision.crossesBoundary });
  }
  return targets;
}

/** One ISP with its current signature check, as a caller holds them. */
export interface IspInForce {
  readonly isp: IspDocument;
  readonly verification: IspVerification;
}

/**
 * Decides a flow under every ISP the partnership holds: allowed when any ISP
 * allows it. When none does, the refusal comes from the first ISP both
 * agencies are partners of (or the first ISP at all), so the reason names
 * what to fix rather than "not a partner" of an unrelated ISP. Undefined
 * when there is no ISP: callers refuse.
 */
export function evaluateFlowUnderAny(isps: readonly IspInForce[], flow: FlowRequest, now: Date): FlowDecision | undefined {
  let refusal: FlowDecision | undefined;
  let refusalIsRelevant = false;
  for (const { isp, verification } of isps) {
    const decision = evaluateFlow(isp, verification, flow, now);
    if (decision.allowed) return decision;
    const relevant = [flow.senderAgency.id, flow.receiverAgency.id].every((id) => isp.partners.some((p) => p.agency === id));
    if (!refusal || (relevant && !refusalIsRelevant)) {
      refusal = decision;
      refusalIsRelevant = relevant;
    }
  }
  return refusal;
}

/** `routeTargets` over every ISP: each receiver once, under the first ISP that allows it. */
export function routeTargetsUnderAny(
  isps: readonly IspInForce[],
  sender: FlowAgency,
  category: DataCategory,
  purpose: Purpose,
  agencies: readonly FlowAgency[],
  now: Date,
): RouteTarget[] {
  const byAgency = new Map<string, RouteTarget>();
  for (const { isp, verification } of isps) {
    for (const target of routeTargets(isp, verification, sender, category, purpose, agencies, now)) {
      if (!byAgency.has(target.agency.id)) byAgency.set(target.agency.id, target);
    }
  }
  return [...byAgency.values()];
}
