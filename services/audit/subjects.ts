/**
 * A `patient` search value → the subject references the audit log may hold for that person.
 *
 * Exchanges are logged with the subject the service knew: an agency record (`Patient/<id>`)
 * or the index Person (`Person/<id>`). Asking about a person means all of them: the index
 * Person the value names (through the MPI, `MpiView`) and every agency record linked to it now.
 * A merged Person is followed to its survivor. A value the index does not know still matches
 * exchanges logged with exactly that reference.
 */
import { IdentifierSystems, agencyPatientSystem } from '../../shared/fhir/systems.js';
import type { MpiView } from '../mpi/view.js';

const AGENCY_SYSTEM_PREFIX = agencyPatientSystem('');
const MAX_MERGE_HOPS = 5;

export class SubjectResolver {
  constructor(private readonly mpi: MpiView) {}

  /** Subject references for any of the values (OR), sorted and distinct. */
  async subjectsOf(values: readonly string[]): Promise<string[]> {
    const found = new Set<string>();
    for (const value of values) for (const s of await this.subjectsOfOne(value)) found.add(s);
    return [...found].sort();
  }

  /** `Person/<id>` and the `Patient/<record>` of each agency record of the Person (after merges). */
  async subjectsOfPerson(personId: string): Promise<string[]> {
    const subjects = new Set<string>();
    let current: string | undefined = personId.replace(/^Person\//, '');
    for (let hop = 0; current && hop <= MAX_MERGE_HOPS; hop++) {
      subjects.add(`Person/${current}`);
      const { records, replacedBy } = await this.mpi.recordsOf(current);
      for (const r of records) subjects.add(`Patient/${r.recordId}`);
      current = replacedBy?.replace(/^Person\//, '');
    }
    return [...subjects].sort();
  }

  private async subjectsOfOne(value: string): Promise<string[]> {
    if (value.startsWith('Person/')) return this.subjectsOfPerson(value);
    if (value.startsWith('Patient/')) return this.subjectsOfRecord(value.slice('Patient/'.length));
    const bar = value.indexOf('|');
    if (bar < 0) {
      // A bare id: an agency record's or an index Person's.
      const [asRecord, asPerson] = await Promise.all([this.subjectsOfRecord(value), this.subjectsOfPerson(value)]);
      return [...asRecord, ...asPerson];
    }
    const system = value.slice(0, bar);
    const identifier = value.slice(bar + 1);
    if (system === IdentifierSystems.chi) {
      const persons = await this.mpi.personsWithChi(identifier);
      return (await Promise.all(persons.map((p) => this.subjectsOfPerson(p)))).flat();
    }
    if (system.startsWith(AGENCY_SYSTEM_PREFIX)) {
      return this.subjectsOfRecord(this.mpi.recordIdOf(system.slice(AGENCY_SYSTEM_PREFIX.length), identifier));
    }
    return [];
  }

  private async subjectsOfRecord(recordId: string): Promise<string[]> {
    const person = await this.mpi.personOf(recordId);
    if (!person) return [`Patient/${recordId}`];
    return [`Patient/${recordId}`, ...(await this.subjectsOfPerson(person.personId))];
  }
}
