/**
 * The plans and MPI `$`-operations fuzzed from valid requests (real services, real Redis, real
 * tokens): each operation's valid body or query — about records, a review Task, Persons and a plan
 * that exist — with one to three mutations (test/json-mutations.ts), so most requests get past the
 * parser to the operation's own logic. Whatever comes in, the answer is a success or a 4xx FHIR
 * OperationOutcome that says what is wrong, never a 5xx, and each exchange is in the audit stream.
 * Bounded and repeatable: a fixed seed and a fixed number of runs per operation.
 */
import type { CarePlan } from 'fhir/r4.js';
import fc from 'fast-check';
import request from 'supertest';
import { readAuditEntries } from '../shared/audit/audit-client.js';
import { agencyPatientSystem, IdentifierSystems } from '../shared/fhir/systems.js';
import { agencyPatient, testChi, type PersonDetails } from './mpi.js';
import { mutationsOf, queryMutationsOf, type Json } from './json-mutations.js';
import { carePlan, startTestPlans, subjectOf, type TestPlans } from './plans.js';

/**
 * Fixed, so a failure is found again by running the suite again (fast-check prints the counterexample).
 * To fuzz longer or elsewhere by hand: INFOSHARE_FUZZ_RUNS, INFOSHARE_FUZZ_SEED.
 */
const SEED = Number(process.env.INFOSHARE_FUZZ_SEED ?? 20261207);
const RUNS = Number(process.env.INFOSHARE_FUZZ_RUNS ?? 25);
const AGENCY = 'nhs-lothian';

let plans: TestPlans;
let taskId: string;
let planId: string;
let counter = 0;
const sent: { id: string; what: string }[] = [];

// A grey-zone pair (same names, birth year one off, moved, no CHI at the GP cluster): a review Task.
const ruaridh: PersonDetails = { given: ['Ruaridh'], family: 'Fraser', birthDate: '1984-03-22', gender: 'male', postcode: 'EH7 5QT', line: '14 Brunswick Street', chi: testChi('1984-03-22', 'male', 41) };
const ruaridhGp: PersonDetails = { ...ruaridh, birthDate: '1985-03-22', postcode: 'EH7 4HB', line: '3 Albion Road', chi: undefined };
const AILSA = { agency: 'edinburgh-social-work', local: 'demo-child-1' };

beforeAll(async () => {
  plans = await startTestPlans();
  const { mpi } = plans;
  await mpi.registered('edinburgh-social-work', 'demo-child-1', { given: ['Ailsa'], family: 'Morrison', birthDate: '2023-03-14', gender: 'female', postcode: 'EH6 8BN', chi: '1403231206' });
  await mpi.registered(AGENCY, 'FZ-N-1', ruaridh);
  const gp = await mpi.registered('gp-leith-cluster', 'FZ-G-1', ruaridhGp);
  taskId = gp.outcome.reviewTask!.slice('Task/'.length);
  const created = await plans.post('edinburgh-social-work', '/fhir/CarePlan', carePlan(subjectOf(AILSA)));
  expect(created.status).toBe(201);
  planId = (created.body as CarePlan).id!;
  const updated = await plans.put('edinburgh-social-work', `/fhir/CarePlan/${planId}`, { ...(created.body as CarePlan), title: 'Second version' }, `W/"1"`);
  expect(updated.status).toBe(200);
});

afterAll(async () => {
  await plans?.close();
});

type App = 'mpi' | 'plans';
type Auth = { Authorization: string };

const asAgency = () => plans.mpi.auth(AGENCY);
/** Ailsa herself (a patient token): what `$add-views` and `$accesses` take. */
const asAilsa = async (): Promise<Auth> => ({ Authorization: `Bearer ${await plans.mpi.dir.token(AGENCY, { patient: 'demo-child-1' })}` });

/** Sends one request and checks the answer: a success, or a 4xx OperationOutcome with a text; never a 5xx. */
async function exchange(app: App, method: 'GET' | 'POST', path: string, auth: Auth, body?: Json): Promise<number> {
  const id = `ops-fuzz-${process.pid}-${++counter}`;
  const what = `${app} ${method} ${path.slice(0, 200)}${body !== undefined ? ` body ${JSON.stringify(body).slice(0, 400)}` : ''}`;
  sent.push({ id, what });
  const target = app === 'mpi' ? plans.mpi.app : plans.app;
  let req = (method === 'GET' ? request(target).get(path) : request(target).post(path)).set(auth).set('X-Request-Id', id);
  if (body !== undefined) req = req.type('application/fhir+json').send(JSON.stringify(body));
  const res = await req;
  if (res.status >= 500) throw new Error(`${res.status} for ${what}: ${res.text.slice(0, 400)}`);
  if (res.status >= 400) {
    const outcome = JSON.parse(res.text) as { resourceType?: string; issue?: { details?: { text?: string }; diagnostics?: string }[] };
    if (outcome.resourceType !== 'OperationOutcome') throw new Error(`${res.status} without an OperationOutcome for ${what}: ${res.text.slice(0, 300)}`);
    if (!outcome.issue?.some((i) => (i.details?.text ?? i.diagnostics ?? '').trim() !== '')) throw new Error(`${res.status} whose OperationOutcome says nothing for ${what}: ${res.text.slice(0, 300)}`);
  }
  return res.status;
}

const parameters = (...parameter: Json[]): Json => ({ resourceType: 'Parameters', parameter });

/**
 * Each operation: its valid request, which the runs mutate. An operation that changes the index (a
 * resolved Task is resolved for good, a merged Person is gone) gets what it acts on made afresh for
 * every run (`fresh`): the request names it by placeholders (`{task}`, `{a}`…), filled in after the
 * mutations, so each run's request reaches the operation's logic rather than "already done".
 */
interface Operation {
  readonly name: string;
  readonly app: App;
  readonly method: 'GET' | 'POST';
  readonly path: string;
  readonly auth: () => Promise<Auth>;
  readonly body?: () => Json;
  readonly query?: () => Record<string, string>;
  readonly fresh?: (run: number) => Promise<Record<string, string>>;
  /** What the valid request itself is answered with (200 unless said). */
  readonly validStatus?: number;
}

const lothian = (local: string) => `${agencyPatientSystem(AGENCY)}|${local}`;
const matchPatient = () => agencyPatient(AGENCY, 'FZ-Q', { ...ruaridh, chi: undefined }) as unknown as Json;

/** A surname of its own per run, unlike every other run's (matching compares names: fixtures of different runs must not be taken for one person). */
function surnameOf(run: number): string {
  let state = (run * 2654435761) % 4294967296;
  let name = '';
  for (let i = 0; i < 7; i++) {
    state = (state * 1103515245 + 12345) % 2147483648;
    name += String.fromCharCode(97 + Math.floor((state / 2147483648) * 26));
  }
  return `${name[0]!.toUpperCase()}${name.slice(1)}`;
}
/** A birth date of its own per run, in an even year (a record one year off is in an odd year: no other run's). */
const bornOf = (run: number) => `${1930 + 2 * (run % 35)}-${String(1 + (Math.floor(run / 35) % 12)).padStart(2, '0')}-${String(1 + (Math.floor(run / 420) % 28)).padStart(2, '0')}`;

/** A new grey-zone pair (birth year one off, moved, no CHI at the GP cluster): the review Task it opens. */
async function freshReview(run: number): Promise<Record<string, string>> {
  const born = bornOf(run);
  const man: PersonDetails = { ...ruaridh, given: [surnameOf(run + 300_000)], family: surnameOf(run), birthDate: born, chi: testChi(born, 'male', run) };
  await plans.mpi.registered(AGENCY, `FZ-RN-${run}`, man);
  const gp = await plans.mpi.registered('gp-leith-cluster', `FZ-RG-${run}`, { ...man, birthDate: `${Number(born.slice(0, 4)) + 1}${born.slice(4)}`, postcode: 'EH7 4HB', line: '3 Albion Road', chi: undefined });
  if (!gp.outcome.reviewTask) throw new Error(`run ${run}: the pair opened no review (${JSON.stringify(gp.outcome)})`);
  return { task: gp.outcome.reviewTask.slice('Task/'.length) };
}

/** Two new Persons of one record each (different people). */
async function freshPersons(run: number): Promise<Record<string, string>> {
  const a = await plans.mpi.registered(AGENCY, `FZ-PA-${run}`, { given: ['Morag'], family: surnameOf(run), birthDate: bornOf(run), gender: 'female', postcode: 'EH3 9AB' });
  const b = await plans.mpi.registered(AGENCY, `FZ-PB-${run}`, { given: ['Torquil'], family: surnameOf(run + 200_000), birthDate: bornOf(run + 7), gender: 'male', postcode: 'EH11 2QZ' });
  return { a: a.outcome.person!, b: b.outcome.person! };
}

/** One person known to two agencies (linked in one Person by their CHI): the second agency's record, to unlink. */
async function freshLinked(run: number): Promise<Record<string, string>> {
  const born = bornOf(run);
  const man: PersonDetails = { given: ['Callum'], family: surnameOf(run), birthDate: born, gender: 'male', postcode: 'EH6 6QQ', line: '2 Easter Road', chi: testChi(born, 'male', run) };
  await plans.mpi.registered(AGENCY, `FZ-LN-${run}`, man);
  const social = await plans.mpi.registered('edinburgh-social-work', `FZ-LS-${run}`, man);
  if (social.outcome.outcome !== 'linked') throw new Error(`run ${run}: the two records were not linked (${JSON.stringify(social.outcome)})`);
  return { record: `edinburgh-social-work.FZ-LS-${run}` };
}

const OPERATIONS: readonly Operation[] = [
  {
    name: 'MPI Patient/$match (Parameters)',
    app: 'mpi',
    method: 'POST',
    path: '/fhir/Patient/$match',
    auth: asAgency,
    body: () => parameters({ name: 'resource', resource: matchPatient() }, { name: 'count', valueInteger: 5 }, { name: 'onlyCertainMatches', valueBoolean: false }),
  },
  { name: 'MPI Patient/$match (a bare Patient)', app: 'mpi', method: 'POST', path: '/fhir/Patient/$match', auth: asAgency, body: matchPatient },
  {
    name: 'MPI Patient/$ihe-pix',
    app: 'mpi',
    method: 'GET',
    path: '/fhir/Patient/$ihe-pix',
    auth: asAgency,
    query: () => ({ sourceIdentifier: lothian('FZ-N-1'), targetSystem: IdentifierSystems.chi }),
  },
  {
    name: 'MPI transaction (POST /fhir)',
    app: 'mpi',
    method: 'POST',
    path: '/fhir',
    auth: asAgency,
    body: () =>
      ({
        resourceType: 'Bundle',
        type: 'transaction',
        entry: [
          { resource: agencyPatient(AGENCY, 'FZ-T-{run}', ruaridh), request: { method: 'POST', url: 'Patient' } },
          {
            resource: agencyPatient(AGENCY, 'FZ-U-{run}', { given: ['Isla', 'Rhona'], family: 'Glenmore', birthDate: '2001-02', gender: 'female', postcode: 'EH6 8BN', line: '1 Leith Walk', city: 'Edinburgh', phone: '0131 496 0000' }),
            request: { method: 'PUT', url: `Patient?identifier=${lothian('FZ-U-{run}')}` },
          },
        ],
      }) as unknown as Json,
    fresh: async (run) => ({ run: String(run) }),
  },
  { name: 'MPI Task/$review', app: 'mpi', method: 'GET', path: `/fhir/Task/{task}/$review`, auth: asAgency, query: () => ({ _format: 'json' }), fresh: async () => ({ task: taskId }) },
  {
    name: 'MPI Task/:id/$resolve',
    app: 'mpi',
    method: 'POST',
    path: '/fhir/Task/{task}/$resolve',
    auth: asAgency,
    body: () => parameters({ name: 'decision', valueCode: 'not-link' }, { name: 'note', valueString: 'Different birth year and address' }),
    fresh: freshReview,
  },
  {
    name: 'MPI Task/$resolve (a batch)',
    app: 'mpi',
    method: 'POST',
    path: '/fhir/Task/$resolve',
    auth: asAgency,
    body: () =>
      parameters(
        { name: 'resolution', part: [{ name: 'task', valueReference: { reference: 'Task/{task}' } }, { name: 'decision', valueCode: 'link' }, { name: 'note', valueString: 'Same man' }] },
        { name: 'resolution', part: [{ name: 'task', valueReference: { reference: 'Task/{other}' } }, { name: 'decision', valueCode: 'not-link' }] },
      ),
    fresh: async (run) => ({ ...(await freshReview(run)), other: (await freshReview(run + 100_003)).task! }),
  },
  {
    name: 'MPI Person/$merge',
    app: 'mpi',
    method: 'POST',
    path: '/fhir/Person/$merge',
    auth: asAgency,
    body: () => parameters({ name: 'source-person', valueReference: { reference: '{a}' } }, { name: 'target-person', valueReference: { reference: '{b}' } }, { name: 'note', valueString: 'One person' }),
    fresh: freshPersons,
  },
  { name: 'MPI Patient/:id/$unlink', app: 'mpi', method: 'POST', path: '/fhir/Patient/{record}/$unlink', auth: asAgency, body: () => parameters({ name: 'note', valueString: 'Not the same' }), fresh: freshLinked },
  {
    name: 'plans CarePlan/:id/$diff',
    app: 'plans',
    method: 'GET',
    path: '/fhir/CarePlan/{plan}/$diff',
    auth: () => plans.auth('edinburgh-social-work'),
    query: () => ({ from: '1', to: '2' }),
    fresh: async () => ({ plan: planId }),
  },
  {
    name: 'plans Patient/:id/$chronology',
    app: 'plans',
    method: 'GET',
    path: '/fhir/Patient/edinburgh-social-work.demo-child-1/$chronology',
    auth: () => plans.auth('edinburgh-social-work'),
    query: () => ({ start: '2026-01-01', end: '2026-12-31T23:59:60Z', category: 'plan,alert,notable-event', format: 'json' }),
  },
  {
    name: 'plans Patient/$chronology?identifier',
    app: 'plans',
    method: 'GET',
    path: '/fhir/Patient/$chronology',
    auth: () => plans.auth('edinburgh-social-work'),
    query: () => ({ identifier: `${agencyPatientSystem('edinburgh-social-work')}|demo-child-1`, start: '2020-01-01', format: 'html' }),
  },
  { name: 'plans CarePlan/:id/$render', app: 'plans', method: 'GET', path: '/fhir/CarePlan/{plan}/$render', auth: () => plans.auth('edinburgh-social-work'), query: () => ({ format: 'html' }), fresh: async () => ({ plan: planId }) },
  // No peer hub is configured here (an unreachable one would rightly answer 502/503): its parameters are what is fuzzed.
  {
    name: 'plans CarePlan/$peer-read',
    app: 'plans',
    method: 'GET',
    path: '/fhir/CarePlan/$peer-read',
    auth: () => plans.auth('edinburgh-social-work'),
    query: () => ({ partnership: 'fife-hscp', id: '{plan}' }),
    fresh: async () => ({ plan: planId }),
    validStatus: 400,
  },
  {
    name: 'plans CarePlan/:id/$add-views',
    app: 'plans',
    method: 'POST',
    path: '/fhir/CarePlan/{plan}/$add-views',
    auth: asAilsa,
    body: () => parameters({ name: 'views', valueString: 'I like nursery on Tuesdays.' }),
    fresh: async () => ({ plan: planId }),
  },
  { name: 'plans Patient/$accesses', app: 'plans', method: 'GET', path: '/fhir/Patient/$accesses', auth: asAilsa, query: () => ({}) },
];

/** `text` with each `{name}` (or percent-encoded, in a query) of `values` filled in; the rest stays as mutated. */
function filled(text: string, values: Readonly<Record<string, string>>): string {
  return text.replace(/(?:\{|%7B)([a-z]+)(?:\}|%7D)/g, (whole, name: string) => values[name] ?? whole);
}

let runs = 0;

/** One run of an operation: its fixtures made (if it needs fresh ones), the mutated request sent. */
async function run(op: Operation, auth: Auth, mutatedRequest: { body?: Json; query?: string }): Promise<number> {
  const values = op.fresh ? await op.fresh(++runs) : {};
  const body = mutatedRequest.body === undefined ? undefined : (JSON.parse(filled(JSON.stringify(mutatedRequest.body), values)) as Json);
  return exchange(op.app, op.method, `${filled(op.path, values)}${filled(mutatedRequest.query ?? '', values)}`, auth, body);
}

describe('the plans and MPI $-operations, fuzzed from valid requests', () => {
  it.each(OPERATIONS.map((op) => [op.name, op] as const))('%s: the valid request the runs mutate is answered as it should be', async (_name, op) => {
    const query = op.query ? Object.entries(op.query()).map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join('&') : '';
    expect(await run(op, await op.auth(), { ...(op.body ? { body: op.body() } : {}), query: query ? `?${query}` : '' })).toBe(op.validStatus ?? 200);
  }, 30_000);

  it.each(OPERATIONS.map((op) => [op.name, op] as const))('%s: every mutation is answered with a success or a 4xx OperationOutcome, never a 5xx', async (_name, op) => {
    const auth = await op.auth();
    const property = op.body
      ? fc.asyncProperty(mutationsOf(op.body()), async (body) => void (await run(op, auth, { body })))
      : fc.asyncProperty(queryMutationsOf(op.query?.() ?? {}), async (query) => void (await run(op, auth, { query })));
    await fc.assert(property, { seed: SEED, numRuns: RUNS });
  }, 120_000);

  it('audited every exchange: each request id is in the audit stream', async () => {
    expect(sent.length).toBe(OPERATIONS.length * (RUNS + 1));
    const deadline = Date.now() + 10_000;
    let missing = sent;
    while (missing.length > 0 && Date.now() < deadline) {
      const audited = new Set((await readAuditEntries(plans.mpi.dir.redis, plans.mpi.dir.keys, { count: 1_000_000 })).map(({ entry }) => entry.requestId));
      missing = sent.filter((s) => !audited.has(s.id));
      if (missing.length > 0) await new Promise((resolve) => setTimeout(resolve, 200));
    }
    expect(missing.map((m) => m.what)).toEqual([]);
  });
});
