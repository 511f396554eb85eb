/**
 * Who an alert is about, as the partnership's index knows them: the subject
 * Patient's identifier (the sender's own, or the CHI) resolved to the index
 * Person through the MPI's view, and that Person's Named Person / Lead
 * Professional CareTeam as the directory holds it (to fill in a message that
 * carries none).
 */
import type { CareTeam } from 'fhir/r4.js';
import { unprocessable } from '../../shared/fhir/outcome.js';
import { IdentifierSystems } from '../../shared/fhir/systems.js';
import type { DirectoryView } from '../directory/view.js';
import type { MpiView } from '../mpi/view.js';
import { npLpProblemOf, type SubjectKey } from './domain/message.js';

export interface ResolvedSubject {
  readonly personId: string;
  /** The sender's record of the person, when resolved by the sender's identifier. */
  readonly recordId?: string;
}

/**
 * The index Person the subject's identifiers name, tried in order (your own identifier,
 * then the CHI); 422 saying why when none of them names one.
 */
export async function resolveSubject(mpi: MpiView, keys: readonly SubjectKey[], senderAgency: string, expression: string): Promise<ResolvedSubject> {
  const problems: string[] = [];
  for (const key of keys) {
    const found = await resolveKey(mpi, key, senderAgency);
    if ('personId' in found) return found;
    problems.push(found.problem);
  }
  throw unprocessable(`The alert's subject is not one person in the partnership's index (MPI): ${problems.join('; ')}`, expression);
}

async function resolveKey(mpi: MpiView, key: SubjectKey, senderAgency: string): Promise<ResolvedSubject | { problem: string }> {
  if (key.kind === 'agency') {
    const recordId = mpi.recordIdOf(senderAgency, key.value);
    const person = await mpi.personOf(recordId);
    return person
      ? { personId: person.personId, recordId }
      : { problem: `${key.system}|${key.value} is not registered (register ${senderAgency}'s record of the person with the MPI first, or identify them by CHI)` };
  }
  const persons = await mpi.personsWithChi(key.value);
  if (persons.length === 1) return { personId: persons[0]! };
  return persons.length === 0
    ? { problem: `no one with CHI ${key.value} is registered` }
    : { problem: `CHI ${key.value} is held by ${persons.length} index persons waiting for a matching review (identify the subject by your own identifier for them)` };
}

/**
 * The directory's active NP/LP CareTeam for a Person with complete details
 * (name, organisation, telecom), or undefined. The directory's CareTeams name
 * their subject by an agency record of the person (`Patient/<record id>`) or
 * by that record's local identifier (`Patient/<value>`, as the demo partnership
 * does): every record of the Person is tried.
 */
export async function directoryCareTeamFor(mpi: MpiView, directory: DirectoryView, personId: string): Promise<CareTeam | undefined> {
  const { records } = await mpi.recordsOf(personId);
  const subjects = new Set<string>();
  for (const record of records) {
    subjects.add(`Patient/${record.recordId}`);
    for (const identifier of record.identifiers) if (identifier.system !== IdentifierSystems.chi) subjects.add(`Patient/${identifier.value ?? ''}`);
  }
  const teams = (await Promise.all([...subjects].map((s) => directory.careTeamsOf(s)))).flat();
  return teams.find((team) => (team.status === undefined || team.status === 'active') && npLpProblemOf(team) === undefined);
}
