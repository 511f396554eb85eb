/**
 * Reading and changing index Persons (application layer over the store):
 * building the Person a reader may see, and the manual corrections a reviewer
 * makes — link, keep apart, unlink, merge. Every manual change is remembered
 * as a decision that automatic re-matching never overrides.
 */
import { randomBytes } from 'node:crypto';
import type { Patient, Person } from 'fhir/r4.js';
import { changeRecord, outboxEntryArgs, type ChangeCause } from '../../shared/audit/outbox.js';
import { conflict, notFound } from '../../shared/fhir/outcome.js';
import type { ManualDecision, PersonLink } from './domain/links.js';
import { inPlanOrder } from '../../shared/store/search-plan.js';
import { ownerOfRecordId } from './domain/patient-search.js';
import { agencyOfRecord, buildPerson, chiOfRecord } from './domain/person.js';
import type { PersonSearchPlan, PersonSource } from './domain/person-search.js';
import type { PartnershipSnapshot } from './partnership.js';
import type { MpiStore } from './store.js';

/**
 * A new index Person's id: `per-` and 8 random bytes in hex. The bytes are drawn from the
 * CSPRNG a few thousand at a time — a bulk load starts a Person for a third of its records,
 * and one call into it per id cost more than the id's whole use.
 */
export function newPersonId(): string {
  if (idBytesUsed + PERSON_ID_BYTES > idBytes.length) {
    idBytes = randomBytes(PERSON_ID_BYTES * 512);
    idBytesUsed = 0;
  }
  const id = idBytes.toString('hex', idBytesUsed, idBytesUsed + PERSON_ID_BYTES);
  idBytesUsed += PERSON_ID_BYTES;
  return `per-${id}`;
}

const PERSON_ID_BYTES = 8;
let idBytes = Buffer.alloc(0);
let idBytesUsed = 0;

/** Who made a manual change and in which exchange: each move commits its change record with it. */
export interface ManualChange {
  readonly cause: ChangeCause;
  /** The exchange's operation (`$resolve`, `$unlink`, `$merge`). */
  readonly operation: string;
}

export class Persons {
  constructor(private readonly store: MpiStore) {}

  /** The outbox fields of one reviewer's move of a record between Persons. */
  private moveRecord(change: ManualChange, recordId: string, from: string, to: string): string[] {
    return outboxEntryArgs(
      changeRecord({ ...change.cause, service: 'mpi' }, {
        subtype: change.operation,
        action: 'U',
        dataCategory: 'demographics',
        purpose: 'identity-matching',
        subject: `Patient/${recordId}`,
        entities: [
          { reference: `Patient/${recordId}`, role: 'subject' },
          { reference: `Person/${from}`, role: 'domain-resource', description: 'moved from' },
          { reference: `Person/${to}`, role: 'domain-resource', description: 'moved to' },
        ],
      }, 'mpi-index'),
    );
  }

  /** The Person as `readerAgency` may see it; 404 when it never existed. */
  async read(personId: string, readerAgency: string, partnership: PartnershipSnapshot): Promise<Person> {
    const [members, replacedBy] = await Promise.all([this.store.getMembers(personId), this.store.getReplacedBy(personId)]);
    if (members.size === 0 && !replacedBy) throw notFound(`Person/${personId} is not known`);
    const records = (await this.store.getRecords([...members.keys()])).filter((r): r is Patient => r !== undefined);
    const visible = records.filter((r) => {
      const owner = agencyOfRecord(r);
      return owner !== undefined && partnership.demographicsMayFlow(owner, readerAgency).allowed;
    });
    return buildPerson({ personId, members, visibleRecords: visible, replacedBy, chi: visible.map(chiOfRecord).find(Boolean) });
  }

  /**
   * The Persons a search finds (domain/person-search.ts), as `readerAgency` may
   * see them. A record the reader may not see under the ISP finds nothing, so a
   * search reveals no more than reading would; the total counts what is returned.
   */
  async search(plan: PersonSearchPlan, readerAgency: string, partnership: PartnershipSnapshot): Promise<{ persons: Person[]; total: number }> {
    const agencyIds = [...partnership.systemsByAgency.values()];
    const mayRead = (recordId: string) => {
      const owner = ownerOfRecordId(recordId, agencyIds);
      return owner !== undefined && partnership.demographicsMayFlow(owner, readerAgency).allowed;
    };
    const personsOfRecords = async (ids: readonly string[]) =>
      (await this.store.getLinks(ids.filter(mayRead))).flatMap((l) => (l ? [l.personId] : []));
    const idsOf = async (source: PersonSource): Promise<string[]> => {
      switch (source.kind) {
        case 'person': {
          const [members, replacedBy] = await Promise.all([this.store.getMembers(source.id), this.store.getReplacedBy(source.id)]);
          return members.size > 0 || replacedBy ? [source.id] : [];
        }
        case 'record':
          return personsOfRecords([source.id]);
        case 'merged-into':
          return this.store.getMergedInto(source.id);
        case 'chi': {
          const [holders] = await this.store.candidateIds([[source.blockingKey]], Number.MAX_SAFE_INTEGER);
          return personsOfRecords(holders ?? []);
        }
      }
    };
    let found: Set<string> | undefined;
    for (const clause of plan.clauses) {
      const ids = new Set((await Promise.all(clause.map(idsOf))).flat());
      found = found === undefined ? ids : new Set([...found].filter((id) => ids.has(id)));
    }
    const matching = inPlanOrder(plan, [...(found ?? [])].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)));
    const page = matching.slice(plan.offset, plan.offset + plan.count);
    const persons = await Promise.all(page.map((id) => this.read(id, readerAgency, partnership)));
    return { persons, total: matching.length };
  }

  /** Moves `recordId` into `personId` as a reviewer's decision (level2, manual). */
  async moveManually(recordId: string, personId: string, change: ManualChange): Promise<void> {
    for (let attempt = 0; attempt < 5; attempt++) {
      const [current] = await this.store.getLinks([recordId]);
      if (!current) throw notFound(`Patient/${recordId} is not indexed`);
      const record = this.moveRecord(change, recordId, current.personId, personId);
      const ok = await this.store.moveLink({ recordId, personId, assurance: 'level2', how: 'manual', fromPersonId: current.personId }, current, record);
      if (ok) return;
    }
    throw conflict(`Patient/${recordId} kept changing while it was being moved; try again`);
  }

  /** Takes a record out of its Person into a new one; remembered as "not the same" as its former co-members. */
  async unlink(recordId: string, decision: Omit<ManualDecision, 'decision'>, change: ManualChange): Promise<{ personId: string; formerPersonId: string }> {
    const [current] = await this.store.getLinks([recordId]);
    if (!current) throw notFound(`Patient/${recordId} is not indexed`);
    const members = await this.store.getMembers(current.personId);
    const others = [...members.keys()].filter((id) => id !== recordId);
    if (others.length === 0) throw conflict(`Patient/${recordId} is the only record of Person/${current.personId}; there is nothing to unlink`);
    const personId = newPersonId();
    const record = this.moveRecord(change, recordId, current.personId, personId);
    const moved = await this.store.moveLink({ recordId, personId, assurance: 'level1', how: 'manual', fromPersonId: current.personId }, current, record);
    if (!moved) throw conflict(`Patient/${recordId} changed while it was being unlinked; try again`);
    await this.store.setDecisions(others.map((b) => ({ a: recordId, b, decision: { ...decision, decision: 'not-link' as const } })));
    return { personId, formerPersonId: current.personId };
  }

  /** Moves every record of `sourceId` into `targetId`; the source becomes inactive, replaced by the target. */
  async merge(sourceId: string, targetId: string, decision: Omit<ManualDecision, 'decision'>, change: ManualChange): Promise<string[]> {
    if (sourceId === targetId) throw conflict('A Person cannot be merged into itself');
    const [source, target, sourceReplaced, targetReplaced] = await Promise.all([
      this.store.getMembers(sourceId),
      this.store.getMembers(targetId),
      this.store.getReplacedBy(sourceId),
      this.store.getReplacedBy(targetId),
    ]);
    if (source.size === 0 && !sourceReplaced) throw notFound(`Person/${sourceId} is not known`);
    if (target.size === 0 && !targetReplaced) throw notFound(`Person/${targetId} is not known`);
    if (sourceReplaced) throw conflict(`Person/${sourceId} was already merged into Person/${sourceReplaced}`);
    if (targetReplaced) throw conflict(`Person/${targetId} was merged into Person/${targetReplaced}; merge into that one`);
    const moved = [...source.keys()];
    for (const recordId of moved) {
      const expected: PersonLink = source.get(recordId)!;
      const record = this.moveRecord(change, recordId, sourceId, targetId);
      const ok = await this.store.moveLink({ recordId, personId: targetId, assurance: 'level2', how: 'manual', fromPersonId: sourceId }, expected, record);
      if (!ok) await this.moveManually(recordId, targetId, change);
    }
    await this.store.markReplaced(sourceId, targetId);
    await this.store.setDecisions(moved.flatMap((a) => [...target.keys()].map((b) => ({ a, b, decision: { ...decision, decision: 'link' as const } }))));
    return moved;
  }
}

