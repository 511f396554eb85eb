/**
 * Crash tests against real processes: a hub is started as a child process and
 * killed with SIGKILL at a failpoint (shared/runtime/failpoints.ts) — no
 * clean-up runs, as after a power cut — then started again. What a user relies
 * on: nothing half-written stands, nothing changes without its audit record.
 */
import { randomUUID } from 'node:crypto';
import type { Bundle, Patient } from 'fhir/r4.js';
import type { Redis } from 'ioredis';
import { readAuditTrailOf } from '../shared/audit/audit-client.js';
import { triggerOfEvent } from '../shared/audit/audit-event.js';
import { KeySpace } from '../shared/redis/connection.js';
import { ResourceKeys } from '../shared/store/keys.js';
import { MpiKeys } from '../services/mpi/keys.js';
import { HUB_PROCESS_TEST_MS, startHubProcess, stopHubProcess, tokenFor, until, type HubProcess } from './hub-process-control.js';
import { agencyPatient, testChi, transactionOf } from './mpi.js';
import { deletePrefix, testRedis, uniquePrefix } from './redis.js';

/** The index holds only what these tests load (not the CareTeams' demo people), so its counts are theirs. */
const ONLY_WHAT_THESE_TESTS_LOAD = { INFOSHARE_TEST_SKIP_DEMO_PEOPLE: '1' };

/** POSTs to the MPI; resolves with the status, or `undefined` when the process died before answering. */
async function postToMpi(hub: HubProcess, agencyId: string, pathName: string, body: unknown, requestId: string): Promise<number | undefined> {
  try {
    const res = await fetch(`${hub.urls.mpi}${pathName}`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${await tokenFor(hub, agencyId)}`,
        'content-type': 'application/fhir+json',
        prefer: 'return=minimal',
        'x-request-id': requestId,
      },
      body: JSON.stringify(body),
    });
    await res.arrayBuffer();
    return res.status;
  } catch {
    return undefined;
  }
}

const letters = (i: number): string => {
  let s = '';
  for (let n = i + 1; n > 0; n = Math.floor((n - 1) / 26)) s = String.fromCharCode(97 + ((n - 1) % 26)) + s;
  return s;
};

/** Person i: a distinct name, birth date, postcode and CHI. */
function person(i: number) {
  const birthDate = `${1950 + (i % 60)}-${String(1 + (i % 12)).padStart(2, '0')}-${String(1 + (i % 28)).padStart(2, '0')}`;
  const gender = i % 2 ? ('male' as const) : ('female' as const);
  return {
    given: [['Morag', 'Hamish', 'Kirsty', 'Angus', 'Shona', 'Ewan'][i % 6]!],
    family: `Crash${letters(i)}`,
    birthDate,
    gender,
    postcode: `EH${1 + (i % 17)} ${1 + (i % 9)}${String.fromCharCode(65 + (i % 26))}B`,
    chi: testChi(birthDate, gender, i),
  };
}

/** NHS records of people 0-199 (with CHI), and 700 social-work records (two chunks of the registrar's 500): the first 200 are the same people. */
const NHS = 200;
const SOCIAL_WORK = 700;
const nhsBundle: Bundle = transactionOf(Array.from({ length: NHS }, (_, i) => agencyPatient('nhs-lothian', `CR-N-${i}`, person(i))));
const socialWorkPatients: Patient[] = Array.from({ length: SOCIAL_WORK }, (_, i) => agencyPatient('edinburgh-social-work', `CR-SW-${i}`, person(i)));
const socialWorkBundle: Bundle = transactionOf(socialWorkPatients);

interface IndexState {
  /** Record id → Person id. */
  readonly links: Map<string, string>;
  readonly records: number;
  readonly unfinishedChunks: number;
  /** Records that are in no Person, or whose Person does not list them. */
  readonly orphans: string[];
  /** Open-review markers whose Task does not exist. */
  readonly markersWithoutTask: string[];
}

async function indexState(redis: Redis, prefix: string): Promise<IndexState> {
  const space = new KeySpace(prefix);
  const keys = new MpiKeys(space);
  const [recordIds, rawLinks, markers, unfinishedChunks] = await Promise.all([
    redis.hkeys(keys.records),
    redis.hgetall(keys.links),
    redis.hgetall(keys.openReviews),
    redis.hlen(keys.journal),
  ]);
  const links = new Map(Object.entries(rawLinks).map(([record, value]) => [record, value.split('|')[0]!]));
  const listed = await Promise.all(recordIds.map((id) => (links.has(id) ? redis.hexists(keys.person(links.get(id)!), id) : Promise.resolve(0))));
  const orphans = recordIds.filter((_, i) => listed[i] !== 1);
  const taskKeys = new ResourceKeys(space, 'Task', 'mpi');
  const taskIds = [...new Set(Object.values(markers))];
  const exists = await Promise.all(taskIds.map((id) => redis.hexists(taskKeys.current, id)));
  return { links, records: recordIds.length, unfinishedChunks, orphans, markersWithoutTask: taskIds.filter((_, i) => exists[i] !== 1) };
}

/** The index as a partition of records into people (Person ids are random; who is with whom is what counts). */
function partition(links: Map<string, string>): string[] {
  const groups = new Map<string, string[]>();
  for (const [record, personId] of links) (groups.get(personId) ?? groups.set(personId, []).get(personId)!).push(record);
  return [...groups.values()].map((g) => g.sort().join(' ')).sort();
}



describe('a hub killed with SIGKILL', () => {
  let redis: Redis;
  const crashed = uniquePrefix('crash');
  const clean = uniquePrefix('clean');

  beforeAll(() => {
    redis = testRedis();
  });

  afterAll(async () => {
    await deletePrefix(redis, crashed);
    await deletePrefix(redis, clean);
    redis.disconnect();
  });

  it('during a bulk load: after a restart and the same load again, the index is whole and the same as an uninterrupted load', async () => {
    // An uninterrupted run: the NHS board's load, the social-work load, and the same social-work load again.
    const reference = await startHubProcess(clean, { env: ONLY_WHAT_THESE_TESTS_LOAD });
    try {
      expect(await postToMpi(reference, 'nhs-lothian', '/fhir', nhsBundle, `ref-nhs-${randomUUID()}`)).toBe(200);
      expect(await postToMpi(reference, 'edinburgh-social-work', '/fhir', socialWorkBundle, `ref-sw-${randomUUID()}`)).toBe(200);
      expect(await postToMpi(reference, 'edinburgh-social-work', '/fhir', socialWorkBundle, `ref-sw2-${randomUUID()}`)).toBe(200);
    } finally {
      await stopHubProcess(reference);
    }
    const expected = await indexState(redis, clean);
    expect(expected.records).toBe(NHS + SOCIAL_WORK);
    expect(expected.orphans).toEqual([]);

    // The same, killed in the middle of the social-work load: its second chunk's records are written with their
    // first links (one script), its Tasks, markers, counters and change record not yet. One process loads the NHS
    // board's records (one chunk: the failpoint's first pass) and dies in the social-work load's second chunk (its
    // third pass) — a hub start fewer than a process for each (a start is ~8 s of CPU; at load 22 this test took 287
    // of its 300 s).
    const doomed = await startHubProcess(crashed, { env: { ...ONLY_WHAT_THESE_TESTS_LOAD, INFOSHARE_FAILPOINTS: 'mpi.chunk.after-records@3' } });
    expect(await postToMpi(doomed, 'nhs-lothian', '/fhir', nhsBundle, `nhs-${randomUUID()}`)).toBe(200);
    expect(await postToMpi(doomed, 'edinburgh-social-work', '/fhir', socialWorkBundle, `sw-${randomUUID()}`)).toBeUndefined();
    expect(await doomed.exited).toEqual({ code: null, signal: 'SIGKILL' });

    const cut = await indexState(redis, crashed);
    expect(cut.unfinishedChunks).toBe(1);
    expect(cut.records).toBe(NHS + SOCIAL_WORK);
    expect(cut.orphans).toEqual([]); // a record is written with its Person
    expect(cut.markersWithoutTask).toEqual([]);

    // Restarted: the unfinished chunk is completed at start-up, before anyone sends anything.
    const restarted = await startHubProcess(crashed, { env: { INFOSHARE_TEST_SKIP_FIXTURES: '1' } });
    try {
      await until('the unfinished chunk to be completed', async () => (await indexState(redis, crashed)).unfinishedChunks === 0);
      const recovered = await indexState(redis, crashed);
      expect(recovered.orphans).toEqual([]);
      expect(recovered.markersWithoutTask).toEqual([]);

      // The agency sends the same load again, as the README tells it to after a failure.
      expect(await postToMpi(restarted, 'edinburgh-social-work', '/fhir', socialWorkBundle, `sw-again-${randomUUID()}`)).toBe(200);
    } finally {
      await stopHubProcess(restarted);
    }
    const after = await indexState(redis, crashed);
    expect(after.records).toBe(NHS + SOCIAL_WORK);
    expect(after.unfinishedChunks).toBe(0);
    expect(after.orphans).toEqual([]);
    expect(after.markersWithoutTask).toEqual([]);
    expect(partition(after.links)).toEqual(partition(expected.links));
    // The people both agencies know are one Person each.
    expect(partition(after.links).filter((g) => g.includes(' '))).toHaveLength(NHS);
  }, HUB_PROCESS_TEST_MS);

  it('between committing a change and relaying its audit record: the record is in the trail once the hub is back', async () => {
    const prefix = uniquePrefix('crash-audit');
    const setup = await startHubProcess(prefix, { env: ONLY_WHAT_THESE_TESTS_LOAD });
    await stopHubProcess(setup);
    try {
      const doomed = await startHubProcess(prefix, { env: { INFOSHARE_FAILPOINTS: 'audit.before-relay,audit.relay-timer', INFOSHARE_TEST_SKIP_FIXTURES: '1' } });
      const requestId = `killed-${randomUUID()}`;
      const patient = agencyPatient('edinburgh-housing', 'CR-H-1', person(5000));
      expect(await postToMpi(doomed, 'edinburgh-housing', '/fhir/Patient', patient, requestId)).toBeUndefined();
      expect(await doomed.exited).toEqual({ code: null, signal: 'SIGKILL' });

      // The client never got an answer, but the record was registered — and its change record committed with it.
      const state = await indexState(redis, prefix);
      expect(state.records).toBe(1);
      expect(state.orphans).toEqual([]);
      expect(await readAuditTrailOf(redis, new KeySpace(prefix), requestId)).toEqual([]);
      expect(await redis.xlen(new MpiKeys(new KeySpace(prefix)).outbox)).toBe(1);

      const back = await startHubProcess(prefix, { env: { INFOSHARE_TEST_SKIP_FIXTURES: '1' } });
      try {
        await until('the change record to reach the audit trail', async () => (await readAuditTrailOf(redis, new KeySpace(prefix), requestId)).length > 0);
        const trail = await readAuditTrailOf(redis, new KeySpace(prefix), requestId);
        expect(trail.map(triggerOfEvent)).toEqual(['change']);
        expect(trail[0]!.entity?.some((e) => e.what?.reference === 'Patient/edinburgh-housing.CR-H-1')).toBe(true);
      } finally {
        await stopHubProcess(back);
      }
    } finally {
      await deletePrefix(redis, prefix);
    }
  }, HUB_PROCESS_TEST_MS);
});
