/**
 * The CHIs a Person's records hold, read for registration's check that linking a record with a CHI
 * does not give a Person a second one (store.ts `linksWithPersonChis`, engine.ts `chisOf`): every record of a
 * Person the caller does not hold all of, with its CHI as stored and whether it is a valid one, read in the same
 * script as the links of the records asked about.
 */
import type { Patient } from 'fhir/r4.js';
import type { Redis } from 'ioredis';
import { KeySpace } from '../../shared/redis/connection.js';
import { deletePrefix, testRedis, uniquePrefix } from '../../test/redis.js';
import type { MatchFeatures } from './domain/features.js';
import { MpiKeys } from './keys.js';
import { MpiStore, type RecordWrite } from './store.js';

let redis: Redis;
let prefix: string;
let store: MpiStore;

beforeAll(() => {
  redis = testRedis();
  prefix = uniquePrefix('mpi-person-chis');
  store = new MpiStore(redis, new MpiKeys(new KeySpace(prefix)));
});

afterAll(async () => {
  await deletePrefix(redis, prefix);
  await redis.quit();
});

function write(features: MatchFeatures): RecordWrite {
  const patient: Patient = { resourceType: 'Patient', id: features.id, meta: { versionId: '1' } };
  return { patient, features, blockingKeys: [`gd:${features.id}`], previousBlockingKeys: [] };
}

const link = (recordId: string, personId: string) => ({ recordId, personId, assurance: 'level3' as const, how: 'auto' as const });

describe('the CHIs a Person’s records hold', () => {
  beforeAll(async () => {
    const records: MatchFeatures[] = [
      { id: 'nhs.1', g: 'morag', chi: '0307840204' },
      { id: 'council.1', g: 'morag' },
      // A family name holding the text of a CHI key is a value, not the key: no CHI is read out of it.
      { id: 'police.1', g: 'morag', f: 'x"chi":"1111111111' },
      // A national identifier without a check digit (a benchmark's): answered, marked as not a valid CHI.
      { id: 'bench.1', g: 'morag', chi: '12345', cn: true },
      { id: 'nhs.2', g: 'ewan', chi: '1203852711' },
    ];
    const persons = ['per-a', 'per-a', 'per-a', 'per-a', 'per-b'];
    await store.writeRecords(records.map(write), undefined, records.map((r, i) => link(r.id, persons[i]!)));
  });

  it('answers the links asked for, and every record with a CHI of a Person with records the caller does not hold, as stored', async () => {
    const found = await store.linksWithPersonChis(['council.1', 'nobody.1'], new Map());
    expect(found.links).toEqual([{ personId: 'per-a', assurance: 'level3', how: 'auto' }, undefined]);
    expect(found.chis.get('per-a')?.sort((x, y) => x.id.localeCompare(y.id))).toEqual([
      { id: 'bench.1', chi: '12345', cn: true },
      { id: 'nhs.1', chi: '0307840204' },
    ]);
    expect([...found.chis.keys()]).toEqual(['per-a']);
  });

  it('counts the records held besides those asked about, and leaves out a Person whose records the caller holds all of, and one it does not know', async () => {
    const found = await store.linksWithPersonChis(
      ['council.1'],
      new Map([
        ['per-a', 3],
        ['per-b', 0],
        ['per-nobody', 0],
      ]),
    );
    expect(found.links).toEqual([{ personId: 'per-a', assurance: 'level3', how: 'auto' }]);
    expect([...found.chis.keys()]).toEqual(['per-b']);
    expect(found.chis.get('per-b')).toEqual([{ id: 'nhs.2', chi: '1203852711' }]);
  });

  it('reads a Person only held besides the records asked about', async () => {
    const found = await store.linksWithPersonChis([], new Map([['per-a', 2]]));
    expect(found.links).toEqual([]);
    expect(found.chis.get('per-a')?.map((r) => r.id).sort()).toEqual(['bench.1', 'nhs.1']);
  });
});
