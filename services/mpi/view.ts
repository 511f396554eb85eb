/**
 * The MPI's read-only view: the ONE file of the MPI another service may
 * import (services never import each other otherwise). It answers "who is
 * this person across the partnership": the index Person an agency record
 * belongs to, the agency records of a Person, the identifiers of a record.
 *
 * Services share one Redis, so a reader gets this straight from it — no extra
 * HTTP hop — but only through here, so the index's key layout (keys.ts,
 * store.ts) stays the MPI's alone. Nothing here writes: registering, linking
 * and merging go through the MPI's API, matched and audited.
 *
 * It gives the index as it stands, for every agency; what a reader may pass
 * on (another agency's record, a CHI) is its own decision under the ISP.
 */
import type { Identifier, Patient } from 'fhir/r4.js';
import type { Redis } from 'ioredis';
import type { KeySpace } from '../../shared/redis/connection.js';
import { chiBlockingKey } from './domain/blocking.js';
import { recordIdFor } from './domain/from-patient.js';
import type { Assurance } from './domain/links.js';
import { agencyOfRecord } from './domain/person.js';
import { MpiKeys } from './keys.js';
import { identifierHash } from './registration.js';
import { MpiStore } from './store.js';

/** The index Person a record belongs to, and how sure the partnership is of it. */
export interface RecordPerson {
  /** The Person's id (`Person/<id>` in FHIR). */
  readonly personId: string;
  readonly assurance: Assurance;
}

/** One agency record of a Person. */
export interface LinkedRecord {
  /** The record's id (`Patient/<id>` in FHIR). */
  readonly recordId: string;
  /** The agency (Organization id) that holds it. */
  readonly agency: string;
  readonly assurance: Assurance;
  /** Its identifiers as the agency submitted them: the agency's local identifier, and the CHI where the agency holds it. */
  readonly identifiers: readonly Identifier[];
}

export interface PersonRecords {
  /** Set when this Person was merged into another: follow it for the records (this one has none left). */
  readonly replacedBy?: string;
  readonly records: readonly LinkedRecord[];
}

export class MpiView {
  // A true private field: a reader cannot reach the store (and its writes) through the view.
  readonly #store: MpiStore;

  constructor(redis: Redis, keys: KeySpace) {
    this.#store = new MpiStore(redis, new MpiKeys(keys));
  }

  /** The record id of an agency's record by its local identifier value (no round trip; the record may not exist). */
  recordIdOf(agencyId: string, localIdentifierValue: string): string {
    return recordIdFor(agencyId, localIdentifierValue, identifierHash);
  }

  /** The Person an agency record belongs to now, or undefined when the index holds no such record. */
  async personOf(recordId: string): Promise<RecordPerson | undefined> {
    const [link] = await this.#store.getLinks([recordId]);
    return link ? { personId: link.personId, assurance: link.assurance } : undefined;
  }

  /** The agency records of a Person (two round trips); none for a Person the index never had. */
  async recordsOf(personId: string): Promise<PersonRecords> {
    const [members, replacedBy] = await Promise.all([this.#store.getMembers(personId), this.#store.getReplacedBy(personId)]);
    const ids = [...members.keys()];
    const stored = await this.#store.getRecords(ids);
    const records = stored.flatMap((record, i): LinkedRecord[] => {
      const agency = record && agencyOfRecord(record);
      if (!record || !agency) return [];
      return [{ recordId: ids[i]!, agency, assurance: members.get(ids[i]!)!.assurance, identifiers: identifiersOfRecord(record) }];
    });
    return replacedBy ? { replacedBy, records } : { records };
  }

  /**
   * The Persons whose records carry this CHI (two round trips): usually one; two while
   * a same-CHI pair waits for a reviewer, or after a reviewer kept them apart.
   */
  async personsWithChi(chi: string): Promise<string[]> {
    const recordIds = await this.#store.blockMembers(chiBlockingKey(chi.replace(/\s/g, '')));
    if (recordIds.length === 0) return [];
    const links = await this.#store.getLinks(recordIds);
    return [...new Set(links.flatMap((l) => (l ? [l.personId] : [])))].sort();
  }

  /** A record's identifiers (its agency's local identifier, the CHI if it carries one), or undefined when there is no such record. */
  async identifiersOf(recordId: string): Promise<readonly Identifier[] | undefined> {
    const record = await this.#store.getRecord(recordId);
    return record ? identifiersOfRecord(record) : undefined;
  }
}

function identifiersOfRecord(record: Patient): Identifier[] {
  return (record.identifier ?? []).flatMap((i) => (i.system && i.value ? [{ system: i.system, value: i.value }] : []));
}
