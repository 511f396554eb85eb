/**
 * Alert categories (Flag.category in `CodeSystems.alertCategory`) and what the
 * ISP calls them. Every alert travels as the ISP data category `alert`, for the
 * purpose its category serves; the ISP's flow terms for that purpose decide
 * where it goes (routing.ts). Pure.
 */
import type { AlertCategory, AlertEvent as DeliveredEvent, Purpose } from '../../../shared/fhir/systems.js';

export type { AlertCategory, DeliveredEvent };

export const ALERT_CATEGORIES = {
  /** A child on the child protection register / subject of a child protection plan (CP-IS). */
  'child-protection': { display: 'Child protection', purpose: 'child-protection' },
  /** An adult at risk under the Adult Support and Protection (Scotland) Act 2007. */
  'adult-protection': { display: 'Adult support and protection', purpose: 'adult-support-protection' },
  /** A risk of violence to staff: what unscheduled care needs at the door. */
  'violence-risk': { display: 'Risk of violence', purpose: 'emergency-care' },
  /** A home fire risk (home fire safety visit referrals between fire & rescue, housing and social work). */
  'fire-risk': { display: 'Fire risk', purpose: 'direct-care' },
  /** A person reported missing (police concern): where they may present. */
  'missing-person': { display: 'Missing person', purpose: 'child-protection' },
  /** A wellbeing concern about a child for the Named Person (GIRFEC). */
  'child-wellbeing': { display: 'Child wellbeing concern', purpose: 'child-wellbeing' },
  /** An attendance at unscheduled care (A&E, out-of-hours) reported to those caring for the person. */
  attendance: { display: 'Attendance at unscheduled care', purpose: 'emergency-care' },
  /** A&E / out-of-hours read the person's shared record under break-glass: the notice to the NP/LP (services/plans/break-glass.ts). */
  'break-glass-access': { display: 'Shared record read under break-glass', purpose: 'emergency-care' },
} as const satisfies Record<AlertCategory, { display: string; purpose: Purpose }>;

export function isAlertCategory(code: unknown): code is AlertCategory {
  return typeof code === 'string' && Object.hasOwn(ALERT_CATEGORIES, code);
}

/** The ISP purpose an alert of this category is shared for. */
export function purposeOf(category: AlertCategory): Purpose {
  return ALERT_CATEGORIES[category].purpose;
}

/** The events an agency sends (MessageHeader.eventCoding in `CodeSystems.alertEvent`); `alert-accessed` is the hub's own. */
export const SENT_EVENTS = ['alert-raised', 'alert-updated', 'alert-closed'] as const satisfies readonly DeliveredEvent[];
export type AlertEvent = (typeof SENT_EVENTS)[number];

/** The event of an access notification: someone looked the alert up (CP-IS's access notification). */
export const ACCESS_EVENT = 'alert-accessed' satisfies DeliveredEvent;

/** The event of the hub's report to a sender that a delivery of its message became a dead letter (dead-letter-report.ts). */
export const DEAD_LETTER_EVENT = 'delivery-dead-letter' satisfies DeliveredEvent;

export function isAlertEvent(code: unknown): code is AlertEvent {
  return (SENT_EVENTS as readonly unknown[]).includes(code);
}
