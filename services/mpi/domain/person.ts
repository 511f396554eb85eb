/**
 * The index Person, derived on read from its member records (never stored as a
 * copy that could drift): `link[]` names each agency record with its assurance.
 * Links to records the reader's agency may not see under the ISP are left out,
 * so a Person never reveals which other agencies hold a record.
 */
import type { Patient, Person, PersonLink as FhirPersonLink } from 'fhir/r4.js';
import { IdentifierSystems } from '../../../shared/fhir/systems.js';
import { agencyIdOf } from '../../../shared/isp/contract.js';
import type { PersonLink } from './links.js';

const ASSURANCE_RANK: Record<string, number> = { level4: 4, level3: 3, level2: 2, level1: 1 };

export interface PersonView {
  readonly personId: string;
  readonly members: ReadonlyMap<string, PersonLink>;
  /** Member records the reader may see (others are omitted). */
  readonly visibleRecords: readonly Patient[];
  /** Set when this Person was merged into another. */
  readonly replacedBy?: string;
  /** The Person's CHI, when the reader may see it. */
  readonly chi?: string;
}

export function buildPerson(view: PersonView): Person {
  const records = [...view.visibleRecords].sort(
    (a, b) => (ASSURANCE_RANK[view.members.get(b.id!)?.assurance ?? ''] ?? 0) - (ASSURANCE_RANK[view.members.get(a.id!)?.assurance ?? ''] ?? 0),
  );
  const named = records.find((r) => r.name?.length);
  const links: FhirPersonLink[] = records.map((r) => ({
    target: { reference: `Patient/${r.id}` },
    assurance: view.members.get(r.id!)?.assurance ?? 'level1',
  }));
  if (view.replacedBy) links.push({ target: { reference: `Person/${view.replacedBy}` }, assurance: 'level4' });
  const person: Person = {
    resourceType: 'Person',
    id: view.personId,
    active: !view.replacedBy,
    link: links,
  };
  if (view.chi) person.identifier = [{ system: IdentifierSystems.chi, value: view.chi }];
  if (named?.name) person.name = named.name;
  const withBirthDate = records.find((r) => r.birthDate);
  if (withBirthDate?.birthDate) person.birthDate = withBirthDate.birthDate;
  const withGender = records.find((r) => r.gender);
  if (withGender?.gender) person.gender = withGender.gender;
  return person;
}

/** The CHI a record carries, if any. */
export function chiOfRecord(record: Patient): string | undefined {
  return record.identifier?.find((i) => i.system === IdentifierSystems.chi)?.value;
}

/** The agency that owns a record (the submitting agency, from `managingOrganization` or the id prefix). */
export function agencyOfRecord(record: Patient): string | undefined {
  return agencyIdOf(record.managingOrganization?.reference) ?? record.id?.split('.')[0];
}
