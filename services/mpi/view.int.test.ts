/**
 * What another service reads through the MPI's view (services/mpi/view.ts),
 * over a Redis user that may only read: the Person of an agency record, the
 * records of a Person, the identifiers of a record — and nothing it does can write.
 */
import type { Redis } from 'ioredis';
import request from 'supertest';
import { agencyPatientSystem, IdentifierSystems } from '../../shared/fhir/systems.js';
import { startTestMpi, testChi, type PersonDetails, type TestMpi } from '../../test/mpi.js';
import { readOnlyRedis } from '../../test/redis.js';
import { MpiView } from './view.js';

let mpi: TestMpi;
let readOnly: { redis: Redis; close(): Promise<void> };
let view: MpiView;

beforeAll(async () => {
  mpi = await startTestMpi();
  readOnly = await readOnlyRedis(mpi.dir.redis, mpi.dir.keys.prefix);
  view = new MpiView(readOnly.redis, mpi.dir.keys);
});

afterAll(async () => {
  await readOnly.close();
  await mpi.close();
});

const chi = testChi('1971-10-02', 'female', 64);
const isobel: PersonDetails = { given: ['Isobel'], family: 'Drummond', birthDate: '1971-10-02', gender: 'female', postcode: 'EH7 4AA', line: '3 London Road', chi };
/** The MPI's id of a registration answer (`Person/<id>` → `<id>`). */
const idOf = (reference: string | undefined) => reference!.split('/')[1]!;

describe('the MPI view', () => {
  let person: string;

  beforeAll(async () => {
    person = idOf((await mpi.registered('nhs-lothian', 'VIEW-N-1', isobel)).outcome.person);
    const gp = await mpi.registered('gp-leith-cluster', 'VIEW-G-1', { ...isobel, given: ['Isobel', 'Ann'] });
    expect(idOf(gp.outcome.person)).toBe(person);
  });

  it('runs over a Redis user that is refused every write, so it cannot write', async () => {
    await expect(readOnly.redis.hset(`${mpi.dir.keys.prefix}:{mpi}:link`, 'nhs-lothian.VIEW-N-1', 'per-x|level4|manual')).rejects.toThrow(/NOPERM/);
  });

  it('offers reads only: the store behind it cannot be reached', () => {
    expect(Object.getOwnPropertyNames(MpiView.prototype).filter((m) => m !== 'constructor').sort()).toEqual(['identifiersOf', 'personOf', 'personsWithChi', 'recordIdOf', 'recordsOf']);
    expect(Object.keys(view)).toEqual([]);
  });

  it('names an agency record by its local identifier, as the MPI does when registering it', async () => {
    expect(view.recordIdOf('nhs-lothian', 'VIEW-N-1')).toBe('nhs-lothian.VIEW-N-1');
    // A local identifier that cannot be an id is hashed: the view names it the same way.
    const odd = await mpi.registered('edinburgh-housing', 'H 17/3 (flat)', { given: ['Callum'], family: 'Baxter', birthDate: '1990-01-09', gender: 'male' });
    expect(view.recordIdOf('edinburgh-housing', 'H 17/3 (flat)')).toBe(odd.body.id);
  });

  it('reads the Person an agency record belongs to, and how sure the link is', async () => {
    expect(await view.personOf('gp-leith-cluster.VIEW-G-1')).toEqual({ personId: person, assurance: 'level4' });
    expect(await view.personOf('nhs-lothian.VIEW-N-1')).toMatchObject({ personId: person });
    expect(await view.personOf('nhs-lothian.NOT-REGISTERED')).toBeUndefined();
  });

  it('finds the Person holding a CHI, and no one for a CHI the index does not hold', async () => {
    expect(await view.personsWithChi(chi)).toEqual([person]);
    expect(await view.personsWithChi(testChi('1971-10-02', 'female', 65))).toEqual([]);
  });

  it('reads the records of a Person, each with its agency and identifiers', async () => {
    const { records, replacedBy } = await view.recordsOf(person);
    expect(replacedBy).toBeUndefined();
    expect([...records].sort((a, b) => a.recordId.localeCompare(b.recordId))).toEqual([
      {
        recordId: 'gp-leith-cluster.VIEW-G-1',
        agency: 'gp-leith-cluster',
        assurance: 'level4',
        identifiers: [
          { system: agencyPatientSystem('gp-leith-cluster'), value: 'VIEW-G-1' },
          { system: IdentifierSystems.chi, value: chi },
        ],
      },
      expect.objectContaining({ recordId: 'nhs-lothian.VIEW-N-1', agency: 'nhs-lothian' }),
    ]);
    expect(await view.recordsOf('per-never-existed')).toEqual({ records: [] });
  });

  it('reads the identifiers of a record', async () => {
    expect(await view.identifiersOf('nhs-lothian.VIEW-N-1')).toEqual([
      { system: agencyPatientSystem('nhs-lothian'), value: 'VIEW-N-1' },
      { system: IdentifierSystems.chi, value: chi },
    ]);
    expect(await view.identifiersOf('nhs-lothian.NOT-REGISTERED')).toBeUndefined();
  });

  it('follows a reviewer’s merge: the merged Person has no records left and names the survivor', async () => {
    const other = idOf((await mpi.registered('edinburgh-social-work', 'VIEW-S-1', { given: ['Hamish'], family: 'Gow', birthDate: '1948-05-30', gender: 'male' })).outcome.person);
    const res = await request(mpi.app)
      .post('/fhir/Person/$merge')
      .set(await mpi.auth('edinburgh-social-work'))
      .type('application/fhir+json')
      .send({
        resourceType: 'Parameters',
        parameter: [
          { name: 'source-person', valueReference: { reference: `Person/${other}` } },
          { name: 'target-person', valueReference: { reference: `Person/${person}` } },
        ],
      });
    expect(res.status).toBe(200);
    expect(await view.recordsOf(other)).toEqual({ replacedBy: person, records: [] });
    expect(await view.personOf('edinburgh-social-work.VIEW-S-1')).toMatchObject({ personId: person });
    expect((await view.recordsOf(person)).records.map((r) => r.recordId).sort()).toEqual(['edinburgh-social-work.VIEW-S-1', 'gp-leith-cluster.VIEW-G-1', 'nhs-lothian.VIEW-N-1']);
  });
});
