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
import { alertDeliveryDecision, type AlertDeliveryQuestion } from './consent-access.js';
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

/** `PlansView.keepingConsents`: the alert delivery re-check with each person's Consents kept while no Consent is written. */
export interface KeptAlertConsent extends Pick<PlansView, 'alertDelivery'> {
  /** The Consents' revision now (one read, started at once: it leaves with whatever else the caller is sending). */
  revision(): Promise<string>;
  /** `alertDelivery` under a revision the caller read at (or before) this call's moment: Consents written since it are seen. */
  alertDeliveryUnder(revision: string, input: AlertDeliveryQuestion): Promise<AlertConsent>;
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
   * before a call is always seen by it. A caller that reads the Consents' revision itself (`revision`, started
   * with its other reads of the moment: one round trip for all) asks `alertDeliveryUnder` that revision.
   */
  keepingConsents(): KeptAlertConsent {
    const kept = new KeptConsents(this.#consents);
    return {
      alertDelivery: async (input) => alertConsentOf(await kept.decide(input)),
      revision: () => this.#consents.revision('Consent'),
      alertDeliveryUnder: async (revision, input) => alertConsentOf(await kept.decideUnder(revision, input)),
    };
  }
}

function alertConsentOf(decision: ConsentDecision): AlertConsent {
  return { permit: decision.permit, detail: decision.detail, ...(decision.consent ? { consent: decision.consent } : {}) };
}
