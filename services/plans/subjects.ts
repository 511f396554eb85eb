/**
 * Who a plan is about, as the partnership's index knows them (through the MPI's
 * view), and who their Named Person / Lead Professional is (through the
 * directory's view): the CareTeams that name an agency record of the Person.
 */
import type { PractitionerRole } from 'fhir/r4.js';
import { unprocessable } from '../../shared/fhir/outcome.js';
import { IdentifierSystems } from '../../shared/fhir/systems.js';
import type { DirectoryView } from '../directory/view.js';
import type { MpiView } from '../mpi/view.js';
import { describeKey, type SubjectKey } from './domain/subject.js';
import type { NpLpContact } from './domain/printable.js';

/** Why a key names no one: it is not registered (also how a person is answered whom the caller may not ask about). */
export function notRegistered(key: SubjectKey): string {
  return key.kind === 'chi' ? `no one with CHI ${key.value} is registered with the partnership's index (MPI)` : `${describeKey(key)} is not registered with the partnership's index (MPI)`;
}

/** The index Person a key names, or a reason it names none (not registered; a CHI two Persons share). */
export async function personOfKey(mpi: MpiView, key: SubjectKey): Promise<{ personId: string } | { problem: string }> {
  switch (key.kind) {
    case 'agency':
    case 'record': {
      const recordId = key.kind === 'record' ? key.recordId : mpi.recordIdOf(key.agency, key.value);
      const person = await mpi.personOf(recordId);
      return person ? { personId: person.personId } : { problem: notRegistered(key) };
    }
    case 'chi': {
      const persons = await mpi.personsWithChi(key.value);
      if (persons.length === 1) return { personId: persons[0]! };
      return {
        problem:
          persons.length === 0
            ? notRegistered(key)
            : `CHI ${key.value} is held by ${persons.length} index persons waiting for a matching review (identify the person by your own identifier)`,
      };
    }
  }
}

/** The index Person, or 422 naming the element and why. */
export async function resolvePerson(mpi: MpiView, key: SubjectKey | undefined, expression: string): Promise<string> {
  if (!key) throw unprocessable('Identify the person by your agency identifier for them, by CHI, or as Patient/<MPI record id>', expression);
  const found = await personOfKey(mpi, key);
  if ('problem' in found) throw unprocessable(`The person is not known: ${found.problem}`, expression);
  return found.personId;
}

/** A Person's Named Person / Lead Professional as the directory names them now, with the PractitionerRoles that hold them. */
export interface NamedProfessionals {
  readonly contacts: readonly NpLpContact[];
  /** `PractitionerRole/<id>` of each (the token of an NP/LP acting names one). */
  readonly roles: readonly string[];
}

const ROLE_NAMES = { 'named-person': 'Named Person', 'lead-professional': 'Lead Professional' } as const;

/**
 * The directory's CareTeams name their subject by an agency record of the
 * person (`Patient/<record id>`) or by that record's local identifier
 * (`Patient/<value>`, as the demo partnership does): every record is tried.
 */
export async function namedProfessionalsOf(mpi: MpiView, directory: DirectoryView, personId: string, now: Date = new Date()): Promise<NamedProfessionals> {
  const { records } = await mpi.recordsOf(personId);
  const subjects = new Set<string>();
  for (const record of records) {
    subjects.add(`Patient/${record.recordId}`);
    for (const identifier of record.identifiers) if (identifier.system !== IdentifierSystems.chi && identifier.value) subjects.add(`Patient/${identifier.value}`);
  }
  const found = (await Promise.all([...subjects].map((s) => directory.namedProfessionalsFor(s, now)))).flat();
  const seen = new Set<string>();
  const contacts: NpLpContact[] = [];
  const roles: string[] = [];
  for (const p of found) {
    const key = `${p.role} ${p.member}`;
    if (seen.has(key)) continue;
    seen.add(key);
    if (p.member.startsWith('PractitionerRole/')) roles.push(p.member);
    contacts.push(contactOf(ROLE_NAMES[p.role], p.member, p.practitionerRole));
  }
  return { contacts, roles };
}

function contactOf(role: string, member: string, practitionerRole: PractitionerRole | undefined): NpLpContact {
  const telecom = [...(practitionerRole?.telecom ?? [])].sort((a, b) => (a.rank ?? 99) - (b.rank ?? 99)).flatMap((t) => (t.value ? [t.value] : []));
  const organisation = practitionerRole?.organization?.display ?? practitionerRole?.organization?.reference;
  return {
    role,
    name: practitionerRole?.practitioner?.display ?? member,
    ...(organisation ? { organisation } : {}),
    contact: telecom,
  };
}
