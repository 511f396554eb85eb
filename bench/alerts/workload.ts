/**
 * What `bench:alerts` sends: the subjects (agency records the sender registers
 * with the MPI first, as a real agency would have) and one alert message per
 * raise — a `message` Bundle as README "Alerts" describes it, each with its own
 * MessageHeader id and Flag id, about one of the subjects, carrying the Named
 * Person's details.
 */
import { randomUUID } from 'node:crypto';
import type { Bundle, CareTeam, Flag, MessageHeader, Patient } from 'fhir/r4.js';
import { agencyPatientSystem, CodeSystems } from '../../shared/fhir/systems.js';

/**
 * The sender and category the benchmark raises: a wellbeing concern from the
 * council's education service, which the demo ISP routes to six agencies of the
 * Lothian partnership (NHS board, GP cluster, community nursing, A&E,
 * out-of-hours, social work) — every recipient inside the partnership, so the
 * figure is the hub's own, not a hub-to-hub forward.
 */
export const BENCH_SENDER = 'edinburgh-education';
export const BENCH_CATEGORY = 'child-wellbeing';


const GIVEN = ['Ailsa', 'Jamie', 'Leah', 'Ethan', 'Orla', 'Callum', 'Isla', 'Ruaridh', 'Eilidh', 'Fraser'];
const FAMILY = ['Morrison', 'Thomson', 'Kerr', 'Brown', 'Duncan', 'MacLeod', 'Campbell', 'Stewart', 'Fraser', 'Reid'];

/** The sender's own identifier value for subject `i` (unique to the run). */
export function subjectValue(runId: string, i: number): string {
  return `BENCH-${runId}-${i}`;
}

/** Subject `i` as the sender's record of a child (registered with the MPI before the run). */
export function benchSubject(sender: string, runId: string, i: number): Patient {
  const birthYear = 2010 + (i % 14);
  return {
    resourceType: 'Patient',
    identifier: [{ system: agencyPatientSystem(sender), value: subjectValue(runId, i) }],
    name: [{ family: `${FAMILY[i % FAMILY.length]!}${Math.floor(i / FAMILY.length)}`, given: [GIVEN[(i * 7) % GIVEN.length]!] }],
    gender: i % 2 ? 'male' : 'female',
    birthDate: `${birthYear}-${String(1 + (i % 12)).padStart(2, '0')}-${String(1 + (i % 28)).padStart(2, '0')}`,
    address: [{ line: [`${1 + (i % 90)} Leith Walk`], city: 'Edinburgh', postalCode: `EH6 ${1 + (i % 9)}AB` }],
  };
}

/** A transaction Bundle registering subjects 0..n-1 as the sender's records (`POST /fhir` to the MPI). */
export function subjectsTransaction(sender: string, runId: string, n: number): Bundle {
  return {
    resourceType: 'Bundle',
    type: 'transaction',
    entry: Array.from({ length: n }, (_, i) => ({ resource: benchSubject(sender, runId, i), request: { method: 'POST' as const, url: 'Patient' } })),
  };
}

/** One alert raised by `sender` about subject `subject`, with its own message and Flag ids. */
export function alertMessage(sender: string, category: string, runId: string, i: number, subject: number): Bundle {
  const flagId = `bench-${runId}-${i}`;
  const patientRef = `Patient/bench-subject-${i}`;
  const header: MessageHeader = {
    resourceType: 'MessageHeader',
    id: `bench-msg-${runId}-${i}`,
    eventCoding: { system: CodeSystems.alertEvent, code: 'alert-raised' },
    source: { endpoint: `Organization/${sender}` },
    sender: { reference: `Organization/${sender}` },
    focus: [{ reference: `Flag/${flagId}` }],
  };
  const flag: Flag = {
    resourceType: 'Flag',
    id: flagId,
    status: 'active',
    category: [{ coding: [{ system: CodeSystems.alertCategory, code: category }] }],
    code: { text: 'Wellbeing concern: repeated absence and signs of neglect reported by the school' },
    period: { start: '2026-12-01' },
    subject: { reference: patientRef },
  };
  const patient: Patient = {
    resourceType: 'Patient',
    id: `bench-subject-${i}`,
    identifier: [{ system: agencyPatientSystem(sender), value: subjectValue(runId, subject) }],
  };
  const careTeam: CareTeam = {
    resourceType: 'CareTeam',
    id: `bench-np-${i}`,
    status: 'active',
    subject: { reference: patientRef },
    participant: [
      {
        role: [{ coding: [{ system: CodeSystems.careTeamRole, code: 'named-person', display: 'Named Person' }] }],
        member: { display: 'Callum Stewart (Head teacher)' },
        onBehalfOf: { reference: `Organization/${sender}` },
      },
    ],
    managingOrganization: [{ reference: `Organization/${sender}` }],
    telecom: [
      { system: 'phone', value: '0131 496 0412', use: 'work' },
      { system: 'email', value: 'callum.stewart@edinburgh-education.example.org', use: 'work' },
    ],
  };
  return {
    resourceType: 'Bundle',
    type: 'message',
    timestamp: new Date().toISOString(),
    entry: [header, flag, patient, careTeam].map((resource) => ({ fullUrl: `urn:uuid:${randomUUID()}`, resource })),
  };
}
