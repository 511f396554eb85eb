/**
 * A person's Named Person and Lead Professional, as the directory holds them:
 * a CareTeam about the person (`subject`) whose participants carry the role
 * `named-person` or `lead-professional` (`CodeSystems.careTeamRole`) and
 * point at the PractitionerRole that holds it (its `telecom` is how to reach
 * them: PD-L2/PD-L3). Pure.
 */
import type { CareTeam, CareTeamParticipant } from 'fhir/r4.js';
import { CodeSystems } from '../../../shared/fhir/systems.js';
import { fhirDateSpan } from '../../../shared/isp/dates.js';

export const NAMED_PROFESSIONAL_ROLES = ['named-person', 'lead-professional'] as const;
export type NamedProfessionalRole = (typeof NAMED_PROFESSIONAL_ROLES)[number];

export interface NamedProfessional {
  readonly role: NamedProfessionalRole;
  /** The participant's `member` reference, usually `PractitionerRole/<id>`. */
  readonly member: string;
  readonly display?: string;
}

/** The Named Person / Lead Professional participants of a CareTeam that are current at `now`. */
export function namedProfessionalsOf(careTeam: CareTeam, now: Date): NamedProfessional[] {
  if (careTeam.status !== undefined && careTeam.status !== 'active') return [];
  const found: NamedProfessional[] = [];
  for (const participant of careTeam.participant ?? []) {
    const role = roleOf(participant);
    const member = participant.member?.reference;
    if (!role || !member || !isCurrent(participant, now)) continue;
    found.push({ role, member, ...(participant.member?.display ? { display: participant.member.display } : {}) });
  }
  return found;
}

function roleOf(participant: CareTeamParticipant): NamedProfessionalRole | undefined {
  for (const concept of participant.role ?? []) {
    for (const coding of concept.coding ?? []) {
      if (coding.system === CodeSystems.careTeamRole && (NAMED_PROFESSIONAL_ROLES as readonly unknown[]).includes(coding.code)) {
        return coding.code as NamedProfessionalRole;
      }
    }
  }
  return undefined;
}

function isCurrent(participant: CareTeamParticipant, now: Date): boolean {
  const { start, end } = participant.period ?? {};
  const t = now.getTime();
  const from = start === undefined ? undefined : fhirDateSpan(start);
  const until = end === undefined ? undefined : fhirDateSpan(end);
  if (start !== undefined && (!from || t < from.start.getTime())) return false;
  if (end !== undefined && (!until || t >= until.end.getTime())) return false;
  return true;
}

/** The distinct PractitionerRole ids named as Named Person / Lead Professional across CareTeams. */
export function namedPractitionerRoleIds(careTeams: readonly CareTeam[], now: Date): string[] {
  const ids = new Set<string>();
  for (const team of careTeams) {
    for (const { member } of namedProfessionalsOf(team, now)) {
      const id = practitionerRoleIdOf(member);
      if (id) ids.add(id);
    }
  }
  return [...ids];
}

/** The id in a `PractitionerRole/<id>` reference; undefined for any other reference. */
export function practitionerRoleIdOf(reference: string): string | undefined {
  return /^PractitionerRole\/([A-Za-z0-9\-.]{1,64})$/.exec(reference)?.[1];
}
