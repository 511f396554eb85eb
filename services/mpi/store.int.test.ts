/**
 * The MPI's blocking index in Redis (store.ts): the records filed under each
 * blocking key, kept right through updates and concurrent writes, with
 * oversized blocks skipped — what every registration and `$match` relies on to
 * find its candidates.
 */
import type { Patient } from 'fhir/r4.js';
import type { Redis } from 'ioredis';
import { KeySpace } from '../../shared/redis/connection.js';
import { deletePrefix, testRedis, uniquePrefix } from '../../test/redis.js';
import type { MatchFeatures } from './domain/features.js';
import { listIds } from './domain/patient-search.js';
import { bucketMembers, bucketOf } from './domain/search-terms.js';
import { MpiKeys } from './keys.js';
import { MpiStore, type RecordWrite } from './store.js';

let redis: Redis;
let prefix: string;
let store: MpiStore;

beforeAll(() => {
  redis = testRedis();
  prefix = uniquePrefix('mpi-store');
  store = new MpiStore(redis, new MpiKeys(new KeySpace(prefix)));
});

afterAll(async () => {
  await deletePrefix(redis, prefix);
  await redis.quit();
});

function write(id: string, blockingKeys: string[], previous?: { version: string; blockingKeys: string[] }): RecordWrite {
  const patient: Patient = { resourceType: 'Patient', id, meta: { versionId: previous ? String(Number(previous.version) + 1) : '1' } };
  const features: MatchFeatures = { id, g: 'jan' };
  return {
    patient,
    features,
    blockingKeys,
    previousBlockingKeys: previous?.blockingKeys ?? [],
    ...(previous ? { previous: { resourceType: 'Patient', id, meta: { versionId: previous.version } } } : {}),
  };
}

describe('blocking index', () => {
  it('finds a written record under each of its blocking keys, once per record even when several keys are shared', async () => {
    await store.writeRecords([write('a.1', ['fy:SMAT:1980', 'db:1980:3:4']), write('a.2', ['fy:SMAT:1980', 'db:1980:3:4', 'pg:EH68QZ:j'])]);
    const [first, second, unknown] = await store.candidateIds([['fy:SMAT:1980'], ['db:1980:3:4', 'pg:EH68QZ:j'], ['fy:NOBODY:1900']], 500);
    expect(first).toEqual(['a.1', 'a.2']);
    expect(second?.sort()).toEqual(['a.1', 'a.2']);
    expect(unknown).toEqual([]);
  });

  it('an update moves the record out of the blocks it left and into its new ones, keeping the old version in history', async () => {
    await store.writeRecords([write('b.1', ['fy:BRAN:1990', 'pf:G11AA:BRAN'])]);
    await store.writeRecords([write('b.1', ['fy:BRAN:1990', 'pf:KY11AA:BRAN'], { version: '1', blockingKeys: ['fy:BRAN:1990', 'pf:G11AA:BRAN'] })]);
    const [kept, left, joined] = await store.candidateIds([['fy:BRAN:1990'], ['pf:G11AA:BRAN'], ['pf:KY11AA:BRAN']], 500);
    expect({ kept, left, joined }).toEqual({ kept: ['b.1'], left: [], joined: ['b.1'] });
    expect((await store.getRecordHistory('b.1')).map((p) => p.meta?.versionId)).toEqual(['2', '1']);
  });

  it('the same new record written twice at once is listed once', async () => {
    await Promise.all([store.writeRecords([write('c.1', ['gd:c:1:2'])]), store.writeRecords([write('c.1', ['gd:c:1:2'])])]);
    await store.writeRecords([write('c.2', ['gd:c:1:2'])]);
    expect(await store.candidateIds([['gd:c:1:2']], 500)).toEqual([['c.1', 'c.2']]);
  });

  it('adding records to existing blocks lists each once, in order of arrival, and keeps the count the size limit reads', async () => {
    await store.writeRecords([write('e.1', ['gf:e:AN']), write('e.2', ['gf:e:AN', 'nn:e:AN'])]);
    // e.1 again as if new (its first write's reply was lost and the chunk retried): not listed twice.
    await store.writeRecords([write('e.3', ['gf:e:AN']), write('e.1', ['gf:e:AN']), write('e.4', ['nn:e:AN', 'gf:e:AN'])]);
    expect(await store.candidateIds([['gf:e:AN'], ['nn:e:AN']], 500)).toEqual([['e.1', 'e.2', 'e.3', 'e.4'], ['e.2', 'e.4']]);
    expect(await store.candidateIds([['gf:e:AN']], 3)).toEqual([[]]);
    expect((await store.candidateIds([['gf:e:AN']], 4))[0]).toHaveLength(4);
  });

  it('skips a block holding more records than the limit (it says too little to be worth comparing)', async () => {
    await store.writeRecords(Array.from({ length: 6 }, (_, i) => write(`d.${i}`, ['nn:COMMON:NAME', `c:d${i}`])));
    const [common, own] = await store.candidateIds([['nn:COMMON:NAME'], ['nn:COMMON:NAME', 'c:d3']], 5);
    expect({ common, own }).toEqual({ common: [], own: ['d.3'] });
    expect((await store.candidateIds([['nn:COMMON:NAME']], 6))[0]).toHaveLength(6);
  });

  it('answers a chunk asking about thousands of keys at once, each with its own records, absent and oversized ones empty', async () => {
    // A registration chunk asks about ~4,000 keys in one call (read a thousand at a time).
    await store.writeRecords(Array.from({ length: 2500 }, (_, i) => write(`f.${i}`, [`gd:f:${i}`, 'nn:F:BIG'])));
    const asked = Array.from({ length: 2600 }, (_, i) => [`gd:f:${i}`, ...(i % 2 ? ['nn:F:BIG'] : [])]);
    const found = await store.candidateIds(asked, 500);
    expect(found).toEqual(asked.map((_, i) => (i < 2500 ? [`f.${i}`] : [])));
  });
});

describe('search index', () => {
  const record = (id: string, family: string, version = '1', previous?: Patient): RecordWrite => ({
    patient: { resourceType: 'Patient', id, meta: { versionId: version }, name: [{ family }], birthDate: '1990-01-02' },
    ...(previous ? { previous } : {}),
    features: { id },
    blockingKeys: [],
    previousBlockingKeys: [],
  });
  /** The whole search index: the root hash and every term list and bucket key. */
  const searchHash = async () => {
    const keys = new MpiKeys(new KeySpace(prefix));
    const listKeys = [...(await redis.keys(keys.searchTerm('*'))), ...(await redis.keys(keys.searchBucket('*')))].sort();
    const values = listKeys.length ? await redis.mget(...listKeys) : [];
    return { roots: await redis.hgetall(keys.search), lists: Object.fromEntries(listKeys.map((k, i) => [k, values[i]])) };
  };

  it('files records under their terms, and their terms in the buckets and roots searches start from', async () => {
    await store.writeRecords([record('s.1', 'Quayle'), record('s.2', 'Quayle'), record('s.3', 'Quinn')]);
    const fields = await store.getSearchFields(['f:quayle', 'f:quinn', '~f:qu', '~f']);
    expect(listIds(fields.get('f:quayle'))).toEqual(['s.1', 's.2']);
    expect(listIds(fields.get('f:quinn'))).toEqual(['s.3']);
    expect(bucketMembers(fields.get('~f:qu'))).toEqual(['quayle', 'quinn']);
    expect(fields.get('~f')).toContain('\x1fqu\x1f');
  });

  it('leaves the same index when the same writes are applied again (a replayed chunk)', async () => {
    const writes = [record('r.1', 'Replay'), record('r.2', 'Replayson')];
    await store.writeRecords(writes);
    const once = await searchHash();
    await store.writeRecords(writes);
    expect(await searchHash()).toEqual(once);
    const moved = [record('r.1', 'Elsewhere', '2', writes[0]!.patient)];
    await store.writeRecords(moved);
    const after = await searchHash();
    await store.writeRecords(moved);
    expect(await searchHash()).toEqual(after);
  });

  it('takes a term out of its bucket when its last record leaves it, and a bucket out of its root when it empties', async () => {
    const first = record('z.1', 'Zzyzx');
    await store.writeRecords([first]);
    expect((await store.getSearchFields(['~f'])).get('~f')).toContain('\x1fzz\x1f');
    await store.writeRecords([record('z.1', 'Abbot', '2', first.patient)]);
    const fields = await store.getSearchFields(['f:zzyzx', '~f:zz', '~f', 'f:abbot']);
    expect(fields.get('f:zzyzx')).toBeNull();
    expect(fields.get('~f:zz')).toBeNull();
    expect(fields.get('~f')).not.toContain('\x1fzz\x1f');
    expect(listIds(fields.get('f:abbot'))).toEqual(['z.1']);
  });

  it('takes one value out of a bucket and keeps the others, even one the value is the start of', async () => {
    const quay = record('q.1', 'Quay');
    await store.writeRecords([quay, record('q.2', 'Quayside'), record('q.3', 'Quaich')]);
    await store.writeRecords([record('q.1', 'Abbotsford', '2', quay.patient)]);
    const fields = await store.getSearchFields(['~f:qu', 'f:quay', 'f:quayside']);
    expect(bucketMembers(fields.get('~f:qu')).sort()).toEqual(['quaich', 'quayle', 'quayside', 'quinn']);
    expect(fields.get('f:quay')).toBeNull();
    expect(listIds(fields.get('f:quayside'))).toEqual(['q.2']);
  });

  it('buckets a term by its first two characters, not bytes (as the search reads them)', async () => {
    await store.writeRecords([record('u.1', 'Ωmega')]);
    const fields = await store.getSearchFields(['f:ωmega', `~f:${bucketOf('f', 'ωmega')}`]);
    expect(listIds(fields.get('f:ωmega'))).toEqual(['u.1']);
    expect(bucketMembers(fields.get('~f:ωm'))).toEqual(['ωmega']);
  });
});

describe('records written with their values packed into a few script arguments', () => {
  it('stores a record whose text holds the separator character and an empty older version exactly as written', async () => {
    // JSON text escapes U+001F, so a Patient holding it is still one packed field (packed-fields.ts).
    const patient: Patient = { resourceType: 'Patient', id: 'p.1', meta: { versionId: '1' }, name: [{ family: 'Odd\x1fName', given: [''] }] };
    await store.writeRecords([{ patient, features: { id: 'p.1', f: 'odd' }, blockingKeys: ['gd:p:1:1'], previousBlockingKeys: [] }]);
    const [stored] = await store.getRecords(['p.1']);
    expect(stored).toEqual(patient);
    expect(await store.getFeatures(['p.1'])).toEqual([{ id: 'p.1', f: 'odd' }]);
    expect(await store.candidateIds([['gd:p:1:1']], 500)).toEqual([['p.1']]);
  });
});

describe('first links written with the records', () => {
  it('links each new record to its Person in the records’ own write, and answers the ones someone linked first without moving them', async () => {
    const link = (recordId: string, personId: string) => ({ recordId, personId, assurance: 'level2' as const, how: 'auto' as const });
    // Someone else linked l.2 first (a writer without the index lock).
    expect(await store.writeNewLinks([link('l.2', 'per-other')])).toEqual([]);

    const taken = await store.writeRecords([write('l.1', ['gd:l:1:1']), write('l.2', ['gd:l:1:1'])], undefined, [link('l.1', 'per-one'), link('l.2', 'per-one')]);
    expect(taken).toEqual([link('l.2', 'per-one')]);
    const [one, two] = await store.getLinks(['l.1', 'l.2']);
    expect(one?.personId).toBe('per-one');
    expect(two?.personId).toBe('per-other');
    expect([...(await store.getMembers('per-one')).keys()]).toEqual(['l.1']);
    expect([...(await store.getMembers('per-other')).keys()]).toEqual(['l.2']);
  });
});

describe('relabelling links', () => {
  it('relabels each record whose link is still the one read, in its Person, and leaves one that changed meanwhile', async () => {
    const alone = (recordId: string, personId: string) => ({ recordId, personId, assurance: 'level1' as const, how: 'new' as const });
    expect(await store.writeNewLinks([alone('r.1', 'per-r1'), alone('r.2', 'per-r2')])).toEqual([]);
    // A reviewer placed r.2 after the registration read it.
    const [, readBefore] = await store.getLinks(['r.1', 'r.2']);
    expect(await store.moveLink({ recordId: 'r.2', personId: 'per-r2', assurance: 'level2', how: 'manual' }, readBefore)).toBe(true);

    const relabelled = await store.relabelLinks([
      { link: { recordId: 'r.1', personId: 'per-r1', assurance: 'level4', how: 'chi' }, expected: { personId: 'per-r1', assurance: 'level1', how: 'new' } },
      { link: { recordId: 'r.2', personId: 'per-r2', assurance: 'level3', how: 'auto' }, expected: readBefore! },
    ]);
    expect(relabelled).toBe(1);
    expect(await store.getLinks(['r.1', 'r.2'])).toEqual([
      { personId: 'per-r1', assurance: 'level4', how: 'chi' },
      { personId: 'per-r2', assurance: 'level2', how: 'manual' },
    ]);
    expect(await store.getMembers('per-r1')).toEqual(new Map([['r.1', { personId: 'per-r1', assurance: 'level4', how: 'chi' }]]));
  });

  it('relabels with the records written in the same call, each only if its link is still the one read; applying them again changes nothing', async () => {
    const alone = (recordId: string, personId: string) => ({ recordId, personId, assurance: 'level1' as const, how: 'new' as const });
    expect(await store.writeNewLinks([alone('w.1', 'per-w1'), alone('w.2', 'per-w2')])).toEqual([]);
    // A reviewer placed w.2 after the registration read it.
    const [, readBefore] = await store.getLinks(['w.1', 'w.2']);
    expect(await store.moveLink({ recordId: 'w.2', personId: 'per-w2', assurance: 'level2', how: 'manual' }, readBefore)).toBe(true);
    const relabels = [
      { link: { recordId: 'w.1', personId: 'per-w1', assurance: 'level3', how: 'auto' }, expected: { personId: 'per-w1', assurance: 'level1', how: 'new' } },
      { link: { recordId: 'w.2', personId: 'per-w2', assurance: 'level3', how: 'auto' }, expected: readBefore! },
    ] as const;

    // The record joining w.1's Person is written with its first link and w.1's relabel in one call.
    const joining = { recordId: 'w.3', personId: 'per-w1', assurance: 'level3', how: 'auto' } as const;
    expect(await store.writeRecords([write('w.3', ['gd:w:1:1'])], undefined, [joining], relabels)).toEqual([]);
    const now = [
      { personId: 'per-w1', assurance: 'level3', how: 'auto' },
      { personId: 'per-w2', assurance: 'level2', how: 'manual' },
      { personId: 'per-w1', assurance: 'level3', how: 'auto' },
    ];
    expect(await store.getLinks(['w.1', 'w.2', 'w.3'])).toEqual(now);
    expect(await store.getMembers('per-w1')).toEqual(new Map([['w.1', now[0]], ['w.3', now[2]]]));

    // A recovery completing the chunk relabels again: nothing changes (w.1's link is no longer the one read).
    expect(await store.relabelLinks(relabels)).toBe(0);
    expect(await store.getLinks(['w.1', 'w.2', 'w.3'])).toEqual(now);
  });
});

describe('features read back', () => {
  it('answers what Redis holds now, even after another process rewrote a record this one wrote or read before', async () => {
    const other = new MpiStore(redis, new MpiKeys(new KeySpace(prefix)));
    await store.writeRecords([write('k.1', ['gd:k:1:1'])]);
    expect((await store.getFeatures(['k.1']))[0]).toEqual({ id: 'k.1', g: 'jan' });

    const changed: RecordWrite = { ...write('k.1', ['gd:k:1:1'], { version: '1', blockingKeys: ['gd:k:1:1'] }), features: { id: 'k.1', g: 'jon' } };
    await other.writeRecords([changed]);
    expect((await store.getFeatures(['k.1']))[0]).toEqual({ id: 'k.1', g: 'jon' });
    expect((await store.getFeatures(['k.1']))[0]).toEqual({ id: 'k.1', g: 'jon' });
  });
});
