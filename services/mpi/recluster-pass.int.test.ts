/**
 * The re-clustering pass planned without the index lock and applied batch by batch under it,
 * against a real Redis: where nothing changed since the plan, it applies; where a registration
 * changed a record in between, the registration wins and the pass leaves that record to the
 * next pass.
 */
import { ResourceStore } from '../../shared/store/resource-store.js';
import { startTestMpi, testChi, type PersonDetails, type TestMpi } from '../../test/mpi.js';
import { MpiKeys } from './keys.js';
import { ModelVersions } from './model-versions.js';
import { newPersonId } from './persons.js';
import { Registrar } from './registration.js';
import { MPI_RESOURCE_TYPES } from './resource-types.js';

let mpi: TestMpi;
let registrar: Registrar;

const cause = { requestId: 'recluster-pass-test', agent: { agency: 'nhs-lothian' } };
const chi = testChi('1958-09-30', 'female', 17);
const catriona: PersonDetails = { given: ['Catriona'], family: 'Munro', birthDate: '1958-09-30', gender: 'female', postcode: 'EH10 4BF', line: '8 Morningside Drive', chi };
const A = 'nhs-lothian.RC-N-1';
const B = 'gp-leith-cluster.RC-G-1';

beforeAll(async () => {
  mpi = await startTestMpi();
  const tasks = new ResourceStore(mpi.dir.redis, mpi.dir.keys, MPI_RESOURCE_TYPES, { family: 'mpi', audit: { service: 'mpi' } });
  registrar = new Registrar({ store: mpi.store, tasks, models: new ModelVersions(mpi.dir.redis, new MpiKeys(mpi.dir.keys), mpi.config.model) });
  const a = await mpi.registered('nhs-lothian', 'RC-N-1', catriona);
  const b = await mpi.registered('gp-leith-cluster', 'RC-G-1', catriona);
  expect(b.outcome.person).toBe(a.outcome.person);
});

afterAll(async () => {
  await mpi.close();
});

/** Leaves B in a Person of its own, as an arrival order can (the pass puts it back with A). */
async function splitApart(): Promise<void> {
  const [link] = await mpi.store.getLinks([B]);
  expect(await mpi.store.moveLink({ recordId: B, personId: newPersonId(), assurance: 'level1', how: 'new', fromPersonId: link!.personId }, link)).toBe(true);
}

async function personsOf(...ids: string[]): Promise<(string | undefined)[]> {
  return (await mpi.store.getLinks(ids)).map((l) => l?.personId);
}

describe('the re-clustering pass, planned without the index lock', () => {
  it('applies its plan where the index did not change meanwhile', async () => {
    await splitApart();
    const pass = await registrar.planReclusterPass();
    // One record changes Person; both are relinked as CHI-certain (level4).
    expect(pass.plan.moves.filter((m) => m.personId !== m.expected.personId)).toHaveLength(1);
    const result = await registrar.applyRecluster(pass, 'test', cause);
    // The other keeps its Person: relabelled (level 1 → 4), not moved.
    expect(result).toMatchObject({ moved: 1, relabelled: pass.plan.moves.length - 1, skipped: 0 });
    const [a, b] = await personsOf(A, B);
    expect(b).toBe(a);
  });

  it('leaves a record a registration changed after the plan was made: the registration wins, the next pass sees to it', async () => {
    await splitApart();
    const pass = await registrar.planReclusterPass();
    const planned = pass.plan.moves.find((m) => m.personId !== m.expected.personId)!;
    // While the pass was planning (no lock held), the record's agency sends a new version of it.
    const id = planned.recordId;
    const [agency, local] = id === A ? ['nhs-lothian', 'RC-N-1'] : ['gp-leith-cluster', 'RC-G-1'];
    await mpi.registered(agency, local, { ...catriona, line: '8 Morningside Dr', phone: '0131 496 0777' }, 200);
    const [registered] = await mpi.store.getLinks([id]);

    const result = await registrar.applyRecluster(pass, 'test', cause);
    // The registration re-linked that record and, joining the other one's Person, relabelled the other (a Person's
    // first record, level 1 → 4) itself: every planned move is about a record changed since the plan, so none applies.
    expect(result.moved + result.relabelled).toBe(0);
    expect(result.skipped).toBe(pass.plan.moves.length);
    expect((await mpi.store.getLinks([id]))[0]).toEqual(registered);

    // The next pass plans from the index as it now is and has nothing left to undo or redo wrongly.
    const next = await registrar.recluster('test', cause);
    expect(next.skipped).toBe(0);
    // It says how long it planned without the lock and how long it held it.
    expect(next.planningSeconds).toBeGreaterThan(0);
    expect(next.lockedSeconds).toBeGreaterThanOrEqual(0);
    expect(next.batches).toBe(1);
    const [a, b] = await personsOf(A, B);
    expect(b).toBe(a);
  });
});
