/**
 * The MPI for integration tests: a test directory (real Redis under a unique
 * prefix, the demo partnership loaded, tokens from the real token endpoint)
 * with the MPI service built on the same deps, plus helpers to make agency
 * Patients and read the audit trail back. Not used by the service.
 */
import type { AuditEvent, Bundle, Extension, Identifier, Patient, Person } from 'fhir/r4.js';
import type { Express } from 'express';
import request from 'supertest';
import { chiCheckDigit } from '../fixtures/generators/chi.js';
import { readAuditEntries } from '../shared/audit/audit-client.js';
import { criteriaOfEvent } from '../shared/audit/audit-event.js';
import type { HubConfig } from '../shared/config.js';
import { agencyPatientSystem, Extensions, IdentifierSystems } from '../shared/fhir/systems.js';
import { startTestDirectory, type TestDirectory } from '../services/directory/test-directory.js';
import { loadMpiConfig, type MpiConfig } from '../services/mpi/config.js';
import { MpiKeys } from '../services/mpi/keys.js';
import { mpiService } from '../services/mpi/module.js';
import { MpiStore } from '../services/mpi/store.js';

/** How long a test reuses an access token it was given (well within the hub's default 300 s token life). */
const TOKEN_REUSE_MS = 60_000;

export interface TestMpi {
  readonly app: Express;
  readonly dir: TestDirectory;
  readonly store: MpiStore;
  /** The hub's settings and the MPI's own, as this MPI runs with them. */
  readonly config: HubConfig & MpiConfig;
  /** An access token for a demo agency (cached per agency and scope). */
  token(agencyId: string, scope?: string): Promise<string>;
  /** `Authorization` header for a demo agency. */
  auth(agencyId: string, scope?: string): Promise<{ Authorization: string }>;
  /** The AuditEvent written for a response (by its X-Request-Id). */
  auditOf(res: request.Response): Promise<AuditEvent>;
  /** `GET path` as a demo agency. */
  get(agencyId: string, path: string, scope?: string): Promise<request.Response>;
  /** Registers an agency's record (`POST /fhir/Patient`); throws unless the answer has `status`. */
  registered(agencyId: string, localId: string, details: PersonDetails, status?: number): Promise<{ res: request.Response; body: Patient; outcome: MatchOutcome }>;
  /** Reads an index Person (`Person/<id>`) as a demo agency; throws unless 200. */
  readPerson(agencyId: string, reference: string): Promise<Person>;
  /** Every AuditEvent recorded so far (to check nothing unexpected was written). */
  auditCount(): Promise<number>;
  close(): Promise<void>;
}

/** `env` adds settings to the directory's (e.g. `INFOSHARE_MPI_PORT`, for a test that listens and follows the links it is given). */
export async function startTestMpi(
  overrides: Partial<Pick<HubConfig & MpiConfig, 'bulkBodyLimit' | 'bodyLimit'>> = {},
  env: Readonly<Record<string, string>> = {},
): Promise<TestMpi> {
  const dir = await startTestDirectory(env);
  const config: HubConfig & MpiConfig = { ...dir.config, ...loadMpiConfig(env), ...overrides };
  const service = await mpiService.createService({ ...dir.deps, config }, config);
  // Each token reused for at most a minute: a suite running longer than a token's life (300 s) on a slow machine
  // would otherwise send an expired one in its later tests (401s that depend on the machine's speed).
  const tokens = new Map<string, { token: Promise<string>; at: number }>();
  const token = (agencyId: string, scope?: string) => {
    const key = `${agencyId} ${scope ?? ''}`;
    let t = tokens.get(key);
    if (!t || Date.now() - t.at > TOKEN_REUSE_MS) {
      t = { token: dir.token(agencyId, scope ? { scope } : {}), at: Date.now() };
      tokens.set(key, t);
    }
    return t.token;
  };
  const auth = async (agencyId: string, scope?: string) => ({ Authorization: `Bearer ${await token(agencyId, scope)}` });
  const get = async (agencyId: string, path: string, scope?: string) => request(service.app).get(path).set(await auth(agencyId, scope));
  return {
    app: service.app,
    dir,
    config,
    store: new MpiStore(dir.redis, new MpiKeys(dir.keys)),
    token,
    auth,
    get,
    async registered(agencyId, localId, details, status = 201) {
      const res = await request(service.app).post('/fhir/Patient').set(await auth(agencyId)).type('application/fhir+json').send(agencyPatient(agencyId, localId, details));
      if (res.status !== status) throw new Error(`registering ${localId} as ${agencyId}: expected ${status}, got ${res.status}: ${JSON.stringify(res.body)}`);
      return { res, body: res.body as Patient, outcome: matchOutcomeOf(res.body as Patient) };
    },
    async readPerson(agencyId, reference) {
      const res = await get(agencyId, `/fhir/${reference}`);
      if (res.status !== 200) throw new Error(`reading ${reference} as ${agencyId}: expected 200, got ${res.status}: ${JSON.stringify(res.body)}`);
      return res.body as Person;
    },
    async auditOf(res) {
      const requestId = res.headers['x-request-id'] as string;
      // A record committed with the request's change (an alert's acceptance: services/alerts/store.ts) is in the audit
      // stream once the relay's next pass has moved it from the outbox, just after the answer: waited for, not raced.
      // Up to 30 s: a pass that is "just after" on a quiet machine can be seconds late on a busy 2-core one.
      const deadline = Date.now() + 30_000;
      for (;;) {
        const event = await dir.auditOf(requestId);
        if (event) return event;
        if (Date.now() > deadline) throw new Error(`no audit record for request ${requestId} (${res.status})`);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    },
    async auditCount() {
      return (await readAuditEntries(dir.redis, dir.keys, { count: 1_000_000 })).length;
    },
    async close() {
      await service.close();
      await dir.close();
    },
  };
}

/** The index's Persons as sets of records, sorted (Person ids differ between two MPIs given the same records; their records must not). */
export async function personsAsRecordSets(mpi: TestMpi): Promise<string[]> {
  const members = new Map<string, string[]>();
  for (const [recordId, link] of await mpi.store.allLinks()) members.set(link.personId, [...(members.get(link.personId) ?? []), recordId]);
  return [...members.values()].map((ids) => ids.sort().join(' ')).sort();
}

/** The agency records a Person links, sorted (`Patient/<id>`). */
export const linkedRecords = (person: Person): (string | undefined)[] => (person.link ?? []).map((l) => l.target.reference).sort();

/** Criteria codes an AuditEvent claims. */
export function criteriaOf(event: AuditEvent): string[] {
  return criteriaOfEvent(event);
}

/** Every entity reference of an AuditEvent. */
export function entityRefs(event: AuditEvent): string[] {
  return (event.entity ?? []).flatMap((e) => (e.what?.reference ? [e.what.reference] : []));
}

/** A valid CHI for a birth date and sex (serial picks one of the many valid ones). */
export function testChi(birthDate: string, sex: 'male' | 'female', serial: number): string {
  const [y, m, d] = birthDate.split('-');
  const base = `${d}${m}${y!.slice(2)}${String(serial % 100).padStart(2, '0')}`;
  for (let s = sex === 'male' ? 1 : 0; s < 10; s += 2) {
    const check = chiCheckDigit(`${base}${s}`);
    if (check !== 10) return `${base}${s}${check}`;
  }
  throw new Error(`no valid CHI for ${base}`);
}

export interface PersonDetails {
  readonly given: readonly string[];
  readonly family: string;
  readonly birthDate?: string;
  readonly gender?: Patient['gender'];
  readonly postcode?: string;
  readonly line?: string;
  readonly city?: string;
  readonly phone?: string;
  readonly chi?: string;
}

/** An agency's Patient as its system would submit it. */
export function agencyPatient(agencyId: string, localId: string, p: PersonDetails): Patient {
  const identifier: Identifier[] = [{ system: agencyPatientSystem(agencyId), value: localId }];
  if (p.chi) identifier.push({ system: IdentifierSystems.chi, value: p.chi });
  return {
    resourceType: 'Patient',
    identifier,
    name: [{ given: [...p.given], family: p.family }],
    ...(p.birthDate ? { birthDate: p.birthDate } : {}),
    ...(p.gender ? { gender: p.gender } : {}),
    ...(p.postcode || p.line ? { address: [{ use: 'home' as const, line: p.line ? [p.line] : undefined, city: p.city, postalCode: p.postcode }] } : {}),
    ...(p.phone ? { telecom: [{ system: 'phone' as const, value: p.phone }] } : {}),
  };
}

/** A transaction Bundle of `POST Patient` entries. */
export function transactionOf(patients: readonly Patient[]): Bundle {
  return { resourceType: 'Bundle', type: 'transaction', entry: patients.map((resource) => ({ resource, request: { method: 'POST', url: 'Patient' } })) };
}

export interface MatchOutcome {
  readonly outcome?: string;
  readonly person?: string;
  readonly assurance?: string;
  readonly candidate?: string;
  readonly score?: number;
  readonly reviewTask?: string;
  /** The record was sent again as stored: nothing re-matched or written. */
  readonly unchanged?: true;
}

/** The match-outcome extension of a registration response, flattened. */
export function matchOutcomeOf(patient: Patient): MatchOutcome {
  const ext = patient.extension?.find((e) => e.url === Extensions.matchOutcome);
  const part = (url: string): Extension | undefined => ext?.extension?.find((e) => e.url === url);
  return {
    outcome: part('outcome')?.valueCode,
    person: part('person')?.valueReference?.reference,
    assurance: part('assurance')?.valueCode,
    candidate: part('candidate')?.valueReference?.reference,
    score: part('score')?.valueDecimal,
    reviewTask: part('review-task')?.valueReference?.reference,
    ...(part('unchanged')?.valueBoolean ? { unchanged: true as const } : {}),
  };
}

function prng(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state * 1103515245 + 12345) % 2147483648;
    return state / 2147483648;
  };
}

const FORENAMES = ['Morag', 'Shona', 'Iain', 'Robert', 'Agnes', 'James', 'Kirsty', 'David', 'Fiona', 'Ewan', 'Catriona', 'Alasdair', 'Eilidh', 'Callum', 'Isla', 'Mhairi', 'Lachlan', 'Rhona', 'Torquil', 'Ailsa'];
const STARTS = ['Mac', 'Fin', 'Dun', 'Kil', 'Strath', 'Glen', 'Bal', 'Inver', 'Craig', 'Ard'];
const ENDS = ['leod', 'lay', 'can', 'patrick', 'more', 'ross', 'don', 'ness', 'avon', 'bain'];
const STREETS = ['Easter Road', 'Leith Walk', 'Dalry Road', 'Gorgie Road', 'High Street', 'Morningside Road'];

/**
 * People known to the NHS board (with CHI) and, most of them, to social work — often at a newer
 * address, without CHI: an index a matching model can be estimated from (model estimation tests).
 */
export function twoAgencyPeople(count: number, seed: number, prefix: string): { nhs: Patient[]; socialWork: Patient[] } {
  const random = prng(seed);
  const pick = <T,>(list: readonly T[]): T => list[Math.floor(random() * list.length)]!;
  const postcode = () => `EH${1 + Math.floor(random() * 17)} ${1 + Math.floor(random() * 9)}${pick(['AB', 'QZ', 'XY', 'HN', 'DL'])}`;
  const nhs: Patient[] = [];
  const socialWork: Patient[] = [];
  for (let i = 0; i < count; i++) {
    const gender = random() < 0.5 ? 'male' : 'female';
    const birthDate = `${1940 + Math.floor(random() * 70)}-${String(1 + Math.floor(random() * 12)).padStart(2, '0')}-${String(1 + Math.floor(random() * 28)).padStart(2, '0')}`;
    const person: PersonDetails = {
      given: [pick(FORENAMES)],
      family: pick(STARTS) + pick(ENDS),
      birthDate,
      gender,
      postcode: postcode(),
      line: `${1 + Math.floor(random() * 150)} ${pick(STREETS)}`,
      chi: testChi(birthDate, gender, (seed * 7 + i) % 100),
    };
    nhs.push(agencyPatient('nhs-lothian', `${prefix}N${i}`, person));
    if (random() < 0.8) {
      const moved = random() < 0.4;
      socialWork.push(
        agencyPatient('edinburgh-social-work', `${prefix}S${i}`, {
          ...person,
          ...(random() < 0.5 ? { chi: undefined } : {}),
          ...(moved ? { postcode: postcode(), line: `${1 + Math.floor(random() * 150)} ${pick(STREETS)}` } : {}),
        }),
      );
    }
  }
  return { nhs, socialWork };
}
