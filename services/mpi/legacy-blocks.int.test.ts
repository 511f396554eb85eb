/**
 * An index written before session 23 (blocking lists stored as `<count>:<ids>` in the
 * `{mpi}:blk` hash) keeps working with this MPI: against a real Redis and the HTTP API, two
 * MPIs load the same records; one's blocking index is put back into the old form half-way;
 * it finds the same candidates, decides the rest of the load the same way, and once it is
 * started again its index is in the current form, list for list the same as the other's.
 */
import type { Bundle, Patient } from 'fhir/r4.js';
import request from 'supertest';
import { generateRandomisedPopulation } from '../../fixtures/generators/randomised-population.js';
import type { SyntheticAgencyRecord } from '../../fixtures/generators/scottish-population.js';
import { toTransactionBundle } from '../../fixtures/generators/to-fhir.js';
import { personsAsRecordSets as persons, startTestMpi, type TestMpi } from '../../test/mpi.js';
import { MpiKeys } from './keys.js';
import { mpiService } from './module.js';

const BUNDLE = 100;

let current: TestMpi;
let legacy: TestMpi;
let records: readonly SyntheticAgencyRecord[];

beforeAll(async () => {
  [current, legacy] = await Promise.all([startTestMpi(), startTestMpi()]);
  records = generateRandomisedPopulation({ seed: 23, people: 200 }).records;
});

afterAll(async () => {
  await Promise.all([current.close(), legacy.close()]);
});

const keysOf = (mpi: TestMpi) => new MpiKeys(mpi.dir.keys);

/** Loads `recs` in Bundles of BUNDLE per agency; the entries' answers (status and outcome), in order, without the (random) Person and Task ids. */
async function load(mpi: TestMpi, recs: readonly SyntheticAgencyRecord[]): Promise<string[]> {
  const answers: string[] = [];
  for (const agencyId of [...new Set(recs.map((r) => r.agencyId))].sort()) {
    const own = recs.filter((r) => r.agencyId === agencyId);
    for (let i = 0; i < own.length; i += BUNDLE) {
      const res = await request(mpi.app).post('/fhir').set(await mpi.auth(agencyId)).type('application/fhir+json').send(toTransactionBundle(own.slice(i, i + BUNDLE)));
      expect(res.status).toBe(200);
      for (const e of (res.body as Bundle<Patient>).entry ?? []) answers.push(`${e.response?.status} ${JSON.stringify(e.response?.outcome ?? null).replace(/(per|mr)-[0-9a-f]+/g, '$1-…')}`);
    }
  }
  return answers;
}

/** Rewrites an MPI's blocking index the way an MPI before session 23 stored it. */
async function toLegacyForm(mpi: TestMpi): Promise<number> {
  const keys = keysOf(mpi);
  const lists = await mpi.dir.redis.hgetall(keys.blocks);
  const fields = Object.entries(lists).flatMap(([key, ids]) => [key, `${ids.split(',').length}:${ids}`]);
  await mpi.dir.redis.hset(keys.legacyBlocks, ...fields);
  await mpi.dir.redis.del(keys.blocks);
  return fields.length / 2;
}

/** The open review questions as record pairs (merge questions about Persons left out). */
async function recordQuestions(mpi: TestMpi): Promise<string[]> {
  return [...(await mpi.store.allOpenReviews()).keys()].filter((k) => !k.includes('per-')).sort();
}

describe('a blocking index written before session 23', () => {
  it('answers the same candidates, decides the rest of a load the same way, and is in the current form after a restart', async () => {
    const first = records.slice(0, 300);
    const rest = records.slice(300);
    expect(await load(legacy, first)).toEqual(await load(current, first));
    const blockingKeys = Object.keys(await current.dir.redis.hgetall(keysOf(current).blocks));
    expect(await toLegacyForm(legacy)).toBe(blockingKeys.length);

    // Read from the old form: the same lists, in the same order; oversized blocks skipped alike.
    const asked = blockingKeys.map((k) => [k]);
    expect(await legacy.store.candidateIds(asked, 500)).toEqual(await current.store.candidateIds(asked, 500));
    expect(await legacy.store.candidateIds(asked, 2)).toEqual(await current.store.candidateIds(asked, 2));
    expect(await legacy.store.blockMembers(blockingKeys[0]!)).toEqual(await current.store.blockMembers(blockingKeys[0]!));

    // The rest of the load: the same answers, Persons and questions; the lists it touched left the old hash.
    expect(await load(legacy, rest)).toEqual(await load(current, rest));
    expect(await persons(legacy)).toEqual(await persons(current));
    expect(await recordQuestions(legacy)).toEqual(await recordQuestions(current));
    const stillOld = await legacy.dir.redis.hlen(keysOf(legacy).legacyBlocks);
    expect(stillOld).toBeGreaterThan(0);
    expect(stillOld).toBeLessThan(blockingKeys.length);

    // Started again: the rest moves at start-up, and the index is the other MPI's, list for list.
    const restarted = await mpiService.createService({ ...legacy.dir.deps, config: legacy.config }, legacy.config);
    try {
      const deadline = Date.now() + 30_000;
      while ((await legacy.dir.redis.exists(keysOf(legacy).legacyBlocks)) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
      expect(await legacy.dir.redis.exists(keysOf(legacy).legacyBlocks)).toBe(0);
      expect(await legacy.dir.redis.hgetall(keysOf(legacy).blocks)).toEqual(await current.dir.redis.hgetall(keysOf(current).blocks));
    } finally {
      await restarted.close();
    }
  }, 240_000);
});
