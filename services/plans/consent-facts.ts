/**
 * What the consent decision needs to know about a person, read fresh for each
 * request (nothing here caches beyond one call): who the index Person is, who
 * their Named Person / Lead Professional is, which Person a patient token names.
 *
 * The directory's CareTeams name their subject by an agency record of the person
 * (`Patient/<record id>`) or by that record's local identifier (`Patient/<value>`,
 * as the demo partnership does), so both are tried — the rule the alerts service
 * follows for NP/LP details.
 */
import { IdentifierSystems } from '../../shared/fhir/systems.js';
import { agencyIdOf } from '../../shared/isp/contract.js';
import type { DirectoryView } from '../directory/view.js';
import type { MpiView } from '../mpi/view.js';

export interface ConsentFactsSources {
  readonly directory: DirectoryView;
  readonly mpi: MpiView;
}

/**
 * The index Person a `Patient/<id>` reference names: an MPI record id, or the local
 * identifier a directory CareTeam names the person by (resolved through the agencies
 * that support them). Undefined when the index knows no one by it.
 */
export async function personOfPatientReference(sources: ConsentFactsSources, reference: string, now: Date = new Date()): Promise<string | undefined> {
  const m = /^Patient\/([A-Za-z0-9\-.]{1,64})$/.exec(reference);
  if (!m) return undefined;
  const id = m[1]!;
  const direct = await sources.mpi.personOf(id);
  if (direct) return direct.personId;
  const agencies = await supportingAgencies(sources, reference, now);
  for (const agency of agencies) {
    const person = await sources.mpi.personOf(sources.mpi.recordIdOf(agency, id));
    if (person) return person.personId;
  }
  return undefined;
}

/** The index Person an identifier (`system|value`: an agency's own, or the CHI) names, when exactly one. */
export async function personOfIdentifier(sources: ConsentFactsSources, system: string, value: string, agencyOfSystem: (system: string) => string | undefined): Promise<string | undefined> {
  if (system === IdentifierSystems.chi) {
    const persons = await sources.mpi.personsWithChi(value);
    return persons.length === 1 ? persons[0] : undefined;
  }
  const agency = agencyOfSystem(system);
  return agency ? (await sources.mpi.personOf(sources.mpi.recordIdOf(agency, value)))?.personId : undefined;
}

/** The agencies of the Person's current Named Person / Lead Professional (whom a break-glass read is notified to). */
export async function npLpAgenciesOf(sources: ConsentFactsSources, personId: string, now: Date = new Date()): Promise<string[]> {
  const subjects = await directorySubjectsOf(sources, personId);
  const named = (await Promise.all(subjects.map((s) => sources.directory.namedProfessionalsFor(s, now)))).flat();
  return [...new Set(named.flatMap((n) => agencyIdOf(n.practitionerRole?.organization?.reference) ?? []))];
}

/** Every `Patient/<…>` the directory may name this Person by. */
async function directorySubjectsOf(sources: ConsentFactsSources, personId: string): Promise<string[]> {
  const { records } = await sources.mpi.recordsOf(personId);
  const subjects = new Set<string>();
  for (const record of records) {
    subjects.add(`Patient/${record.recordId}`);
    for (const identifier of record.identifiers) if (identifier.system !== IdentifierSystems.chi && identifier.value) subjects.add(`Patient/${identifier.value}`);
  }
  return [...subjects];
}

/** The agencies managing a directory subject's CareTeams or employing its NP/LP. */
async function supportingAgencies(sources: ConsentFactsSources, subject: string, now: Date): Promise<string[]> {
  const [teams, named] = await Promise.all([sources.directory.careTeamsOf(subject), sources.directory.namedProfessionalsFor(subject, now)]);
  const agencies = new Set<string>();
  for (const team of teams) for (const org of team.managingOrganization ?? []) {
    const id = agencyIdOf(org.reference);
    if (id) agencies.add(id);
  }
  for (const n of named) {
    const id = agencyIdOf(n.practitionerRole?.organization?.reference);
    if (id) agencies.add(id);
  }
  return [...agencies];
}
