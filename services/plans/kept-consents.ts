/**
 * Each person's Consents, read into the rules the decision applies, kept in this
 * process while no Consent is written anywhere — for callers that ask many times
 * a second: the alerts delivery re-check (through view.ts
 * `PlansView.keepingConsents`: `decide`, the same decision as
 * `alertDeliveryDecision`) and the plans service's own access check on every
 * read (`recordsNow`, consent-source.ts).
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

  /**
   * Each person's Consents as they stand now, for a read's decision. The revision is read at
   * once — not shared across the turn as `decide` does — and so are the Consents of anyone not
   * kept, in the same tick: on an auto-pipelined connection they leave in the same write as
   * whatever else the request asked in that tick (the ISP revision), so a read whose people
   * are kept costs one small command instead of a script and the Consents' parsing, and one
   * whose people are not costs what it did. A kept person whose Consents the revision moved
   * past is read again (a second round trip, after a Consent write).
   */
  async recordsNow(personIds: readonly string[]): Promise<(readonly ConsentRecord[])[]> {
    const keptUnder = this.revision;
    const kept = personIds.map((personId) => this.byPerson.get(personId));
    // Asked in this order on one connection: the revision first, so the Consents read with it are at least as new.
    const revisionRead = this.consents.revision('Consent');
    const reads = kept.map((records, i) => (records ? undefined : this.read(personIds[i]!)));
    // A failure is reported where each is awaited below (not as an unhandled rejection while the revision is awaited).
    for (const read of reads) read?.catch(() => undefined);
    const revision = await revisionRead;
    if (revision !== this.revision) {
      this.byPerson.clear();
      this.revision = revision;
    }
    // Kept under the revision read now: used as kept (no promise per person on the path every read takes);
    // the others read — asked above, or now when the revision moved past what was kept — all at once.
    const fresh = personIds.map((personId, i) => (keptUnder === revision && kept[i] ? undefined : (reads[i] ?? this.read(personId))));
    for (const read of fresh) read?.catch(() => undefined);
    const out: (readonly ConsentRecord[])[] = [];
    for (let i = 0; i < personIds.length; i++) {
      const read = fresh[i];
      const records = read ? await read : kept[i]!;
      this.keep(personIds[i]!, records, revision);
      out.push(records);
    }
    return out;
  }

  async decide(input: AlertDeliveryQuestion): Promise<ConsentDecision> {
    const revision = await this.currentRevision();
    if (revision !== this.revision) {
      this.byPerson.clear();
      this.revision = revision;
    }
    const records = this.byPerson.get(input.personId) ?? (await this.read(input.personId));
    this.keep(input.personId, records, revision);
    return alertDeliveryDecisionOver(records, input);
  }

  private async read(personId: string): Promise<readonly ConsentRecord[]> {
    return (await consentsOfPerson(this.consents, personId)).map(consentRecordOf);
  }

  /** Keeps a person's Consents (most recently asked last) — only under the revision they were read under: a newer one may have cleared the map meanwhile. */
  private keep(personId: string, records: readonly ConsentRecord[], revision: string): void {
    if (this.revision !== revision) return;
    this.byPerson.delete(personId);
    this.byPerson.set(personId, records);
    if (this.byPerson.size > PEOPLE_KEPT) this.byPerson.delete(this.byPerson.keys().next().value!);
  }
}
