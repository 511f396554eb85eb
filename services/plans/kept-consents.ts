/**
 * The alerts delivery re-check for a caller that asks it many times a second
 * (the alerts delivery worker, through view.ts `PlansView.keepingConsents`):
 * the same decision as `alertDeliveryDecision`, but each person's Consents are
 * kept in this process while no Consent is written anywhere.
 *
 * Never stale: every Consent write (create, update, delete — the resource
 * store's write script) moves the Consent type's revision in the same script
 * as the write, and each decision first reads that revision — one read shared
 * by the decisions asked in one event-loop turn, made after all of them asked
 * (shared/runtime/tick-batch.ts). A revision that moved drops everything kept.
 * The revision is read before the Consents, so Consents read under it can only
 * be newer than it says. The decision itself is made afresh each time (a
 * Consent's period can begin or end without a write).
 */
import { sharedRead } from '../../shared/runtime/tick-batch.js';
import type { ResourceStore } from '../../shared/store/resource-store.js';
import { alertDeliveryDecisionOver, type AlertDeliveryQuestion } from './consent-access.js';
import { consentsOfPerson } from './consent-store.js';
import { consentRecordOf, type ConsentRecord } from './domain/consent.js';
import type { ConsentDecision } from './domain/consent-decision.js';

/** People whose Consents are kept at most (least recently asked dropped first). */
const PEOPLE_KEPT = 10_000;

export class KeptConsents {
  private revision: string | undefined;
  private readonly byPerson = new Map<string, readonly ConsentRecord[]>();
  private readonly currentRevision: () => Promise<string>;

  constructor(private readonly consents: ResourceStore) {
    this.currentRevision = sharedRead(() => consents.revision('Consent'));
  }

  async decide(input: AlertDeliveryQuestion): Promise<ConsentDecision> {
    const revision = await this.currentRevision();
    if (revision !== this.revision) {
      this.byPerson.clear();
      this.revision = revision;
    }
    let records = this.byPerson.get(input.personId);
    if (records) {
      // Most recently asked last.
      this.byPerson.delete(input.personId);
    } else {
      records = (await consentsOfPerson(this.consents, input.personId)).map(consentRecordOf);
    }
    // Kept only under the revision they were read under (a newer one may have cleared the map meanwhile).
    if (this.revision === revision) {
      this.byPerson.set(input.personId, records);
      if (this.byPerson.size > PEOPLE_KEPT) this.byPerson.delete(this.byPerson.keys().next().value!);
    }
    return alertDeliveryDecisionOver(records, input);
  }
}
