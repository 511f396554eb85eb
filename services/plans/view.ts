/**
 * The plans service's read-only view: the ONE file of the plans service another
 * service may import. It answers the consent question for data that lives
 * elsewhere — today the alerts service's delivery re-check: may this alert about
 * this person reach this agency now? — with the same decision every plans read
 * asks (domain/consent-decision.ts), over the person's Consents as they stand in
 * Redis at that moment (read through the plans service's own store layout, never
 * written here).
 */
import type { Redis } from 'ioredis';
import type { AgencyType, Purpose } from '../../shared/fhir/systems.js';
import type { KeySpace } from '../../shared/redis/connection.js';
import type { ResourceStore } from '../../shared/store/resource-store.js';
import { alertDeliveryDecision } from './consent-access.js';
import { consentStore } from './consent-store.js';
import type { ConsentDecision } from './domain/consent-decision.js';
import { KeptConsents } from './kept-consents.js';

/** Whether consent lets an alert reach a recipient, and why (for the delivery's record). */
export interface AlertConsent {
  readonly permit: boolean;
  readonly detail: string;
  /** The Consent that withheld it. */
  readonly consent?: string;
}

export class PlansView {
  // A true private field: a reader cannot reach the store (and its writes) through the view.
  readonly #consents: ResourceStore;

  constructor(redis: Redis, keys: KeySpace) {
    this.#consents = consentStore(redis, keys);
  }

  /**
   * The consent decision for delivering an alert about `personId` from `senderAgency`
   * to `recipient` now: alerts travel on the ISP's basis, so only a Consent in force that
   * withholds the person's alerts from the recipient (or from everyone) refuses it.
   */
  async alertDelivery(input: {
    readonly personId: string;
    readonly senderAgency: string;
    readonly recipient: { readonly id: string; readonly type: AgencyType };
    readonly purpose: Purpose;
    readonly now: Date;
  }): Promise<AlertConsent> {
    return alertConsentOf(await alertDeliveryDecision(this.#consents, input));
  }

  /**
   * `alertDelivery` for a caller that asks it many times a second (the alerts delivery worker): the same
   * decision at each call, but each person's Consents are kept in this process until any Consent is written
   * (kept-consents.ts) — checked by one revision read per group of calls made together, so a Consent written
   * before a call is always seen by it.
   */
  keepingConsents(): Pick<PlansView, 'alertDelivery'> {
    const kept = new KeptConsents(this.#consents);
    return {
      alertDelivery: async (input) => alertConsentOf(await kept.decide(input)),
    };
  }
}

function alertConsentOf(decision: ConsentDecision): AlertConsent {
  return { permit: decision.permit, detail: decision.detail, ...(decision.consent ? { consent: decision.consent } : {}) };
}
