/**
 * Each person's Consents, read into the rules the decision applies, kept in this
 * process — for callers that ask many times a second: the alerts delivery re-check
 * (through view.ts `PlansView.keepingConsents`: `decide`, the same decision as
 * `alertDeliveryDecision`) and the plans service's own access check on every read
 * (`recordsNow`, consent-source.ts). Never stale, in two ways:
 *
 * - `recordsNow` reads the person's Consent projections (consent-store.ts: each
 *   Consent's rules, written with every version in the version's own script) from
 *   Redis on EVERY request; what it keeps is only their parsing — the rules of
 *   projections identical to those it read last time are the same objects, so a
 *   read whose person's Consents did not change parses nothing.
 * - `decide` (a batch of delivery attempts at a time) reads the Consent type's
 *   revision — moved by every Consent write in the write's own script — one read
 *   shared by the decisions asked in one event-loop turn, made after all of them
 *   asked (shared/runtime/tick-batch.ts); a revision that moved drops everything it
 *   kept. The revision is read before the Consents, so Consents read under it can
 *   only be newer than it says. The read itself is what is kept, from the moment it
 *   is asked for: a message's six attempts ask for one person within a round trip of
 *   each other and would otherwise each read the person's Consents before the first
 *   read came back. A read that fails is not kept.
 *
 * The decision itself is made afresh each time (a Consent's period can begin or end
 * without a write).
 */
import { KeptReads } from '../../shared/runtime/kept-reads.js';
import { sharedRead } from '../../shared/runtime/tick-batch.js';
import type { ResourceStore } from '../../shared/store/resource-store.js';
import { alertDeliveryDecisionOver, type AlertDeliveryQuestion } from './consent-access.js';
import { consentProjectionsOf, consentRecordsOf, recordOfProjection } from './consent-store.js';
import type { ConsentRecord } from './domain/consent.js';
import type { ConsentDecision } from './domain/consent-decision.js';

/** People whose Consents are kept at most (least recently asked dropped first). */
const PEOPLE_KEPT = 10_000;

/** A person's Consents as last read: the projections and the rules read from them. */
interface Parsed {
  readonly projections: readonly string[];
  readonly records: readonly ConsentRecord[];
}

export class KeptConsents {
  private revision: string | undefined;
  private readonly byPerson = new KeptReads<string, readonly ConsentRecord[]>(PEOPLE_KEPT);
  private readonly parsed = new Map<string, Parsed>();
  private readonly currentRevision: () => Promise<string>;

  constructor(private readonly consents: ResourceStore) {
    this.currentRevision = sharedRead(() => consents.revision('Consent'));
  }

  /**
   * Each person's Consents as they stand now, for a read's decision: their projections read
   * from Redis now, all at once — in the same tick, so on an auto-pipelined connection they
   * leave in the same write as whatever else the request asked in that tick (the ISP
   * revision). Projections unchanged since this person was last read give the rules read
   * then (the same objects); any other is parsed.
   */
  async recordsNow(personIds: readonly string[]): Promise<(readonly ConsentRecord[])[]> {
    // One person (a read): no array of reads made to find them.
    if (personIds.length === 1) return [this.recordsOf(personIds[0]!, await consentProjectionsOf(this.consents, personIds[0]!))];
    const reads = personIds.map((personId) => consentProjectionsOf(this.consents, personId));
    // A failure is reported where each is awaited below (not as an unhandled rejection while an earlier one is awaited).
    for (const read of reads) read.catch(() => undefined);
    const out: (readonly ConsentRecord[])[] = [];
    for (let i = 0; i < personIds.length; i++) out.push(this.recordsOf(personIds[i]!, await reads[i]!));
    return out;
  }

  async decide(input: AlertDeliveryQuestion): Promise<ConsentDecision> {
    return this.decideUnder(await this.currentRevision(), input);
  }

  /**
   * `decide` under the Consent type's revision as the caller read it (with its other reads of the moment: the
   * delivery worker reads it in the same round trip as the claim). The person's Consents, if not kept under that
   * revision, are read after it: never older than the revision says.
   */
  async decideUnder(revision: string, input: AlertDeliveryQuestion): Promise<ConsentDecision> {
    if (revision !== this.revision) {
      this.byPerson.clear();
      this.revision = revision;
    }
    // Read under the revision just checked (no await between): a newer one clears what is kept.
    const records = await this.byPerson.get(input.personId, () => consentRecordsOf(this.consents, input.personId));
    return alertDeliveryDecisionOver(records, input);
  }

  /** The rules of these projections: those kept when the projections are the ones last read for the person, else parsed (and kept). */
  private recordsOf(personId: string, projections: readonly string[]): readonly ConsentRecord[] {
    const last = this.parsed.get(personId);
    this.parsed.delete(personId);
    const parsed = last && sameTexts(last.projections, projections) ? last : { projections, records: projections.map(recordOfProjection) };
    this.parsed.set(personId, parsed);
    if (this.parsed.size > PEOPLE_KEPT) this.parsed.delete(this.parsed.keys().next().value!);
    return parsed.records;
  }
}

function sameTexts(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
