/**
 * The audit search indexes over a real Redis: entries written by the audit client are indexed
 * once (twice changes nothing), searched by every parameter with exact totals and pages, and a
 * person's accesses are found through the MPI across their agency records.
 */
import type { Redis } from 'ioredis';
import { RedisAuditSink, readAuditEntries } from '../../shared/audit/audit-client.js';
import type { ExchangeRecord } from '../../shared/audit/exchange.js';
import { IdentifierSystems } from '../../shared/fhir/systems.js';
import { KeySpace } from '../../shared/redis/connection.js';
import { startTestMpi, testChi, type TestMpi } from '../../test/mpi.js';
import { deletePrefix, testRedis, uniquePrefix } from '../../test/redis.js';
import { MpiView } from '../mpi/view.js';
import { parseAuditSearch } from './domain/audit-search.js';
import { SearchIndex } from './search-index.js';
import { SubjectResolver } from './subjects.js';
import { AuditView } from './view.js';

function exchange(over: Partial<ExchangeRecord> & { recorded: string }): ExchangeRecord {
  return {
    requestId: `r-${Math.random().toString(36).slice(2)}`,
    service: 'alerts',
    type: 'rest',
    subtype: 'read',
    action: 'R',
    outcome: '0',
    agent: { clientId: 'nhs-lothian', agency: 'nhs-lothian', partnership: 'lothian' },
    entities: [],
    criteria: [],
    ...over,
  };
}

describe('the audit search index', () => {
  let redis: Redis;
  let keys: KeySpace;
  let index: SearchIndex;

  beforeAll(async () => {
    redis = testRedis();
    keys = new KeySpace(uniquePrefix('auditix'));
    index = new SearchIndex(redis, keys);
    const sink = new RedisAuditSink(redis, keys);
    await sink.recordMany([
      exchange({ recorded: '2026-12-01T10:00:00.000Z', criteria: ['MA-L3'], subject: 'Person/p1' }),
      exchange({ recorded: '2026-12-01T11:00:00.000Z', criteria: ['MA-L3', 'MA-L4'], subject: 'Patient/nhs-lothian.A' }),
      exchange({ recorded: '2026-12-02T09:00:00.000Z', outcome: '4', criteria: ['SI-L3'], agent: { clientId: 'edinburgh-education', agency: 'edinburgh-education', partnership: 'lothian' } }),
      exchange({ recorded: '2026-12-02T09:30:00.000Z', outcome: '4', criteria: ['PD-L4'], subtype: '$process-message', subject: 'Person/p1' }),
      exchange({ recorded: '2026-12-03T08:00:00.000Z', service: 'mpi', type: 'login', subtype: 'token', action: 'E', agent: { clientId: 'fife-nhs', agency: 'fife-nhs', partnership: 'fife' }, criteria: ['SI-L3'] }),
    ]);
    expect(await index.catchUp()).toBe(5);
  });

  afterAll(async () => {
    await deletePrefix(redis, keys.prefix);
    await redis.quit();
  });

  const search = async (query: string, subjects?: string[]) => {
    const plan = parseAuditSearch(new URLSearchParams(query));
    const { total, ids } = await index.search(plan, subjects);
    return { total, events: await index.events(ids) };
  };

  it('indexes each entry once: catching up again, or re-indexing a batch, changes no count', async () => {
    expect(await index.catchUp()).toBe(0);
    await index.indexBatch(await readAuditEntries(redis, keys));
    expect((await search('')).total).toBe(5);
  });

  it('finds by date range, newest first, with the exact total and pages', async () => {
    const day1 = await search('date=ge2026-12-01&date=lt2026-12-02');
    expect(day1.total).toBe(2);
    expect(day1.events.map((e) => e.recorded)).toEqual(['2026-12-01T11:00:00.000Z', '2026-12-01T10:00:00.000Z']);
    const page2 = await search('_count=2&_offset=2');
    expect(page2.total).toBe(5);
    expect(page2.events.map((e) => e.recorded)).toEqual(['2026-12-02T09:00:00.000Z', '2026-12-01T11:00:00.000Z']);
    expect((await search('_summary=count')).events).toEqual([]);
  });

  it('finds by agent, outcome, type, subtype, service and criterion, ANDed, values ORed', async () => {
    expect((await search('agent=edinburgh-education')).total).toBe(1);
    expect((await search('agent=Organization/nhs-lothian,fife-nhs')).total).toBe(4);
    expect((await search('outcome=4')).total).toBe(2);
    expect((await search('type=110114')).total).toBe(1);
    expect((await search('subtype=$process-message')).total).toBe(1);
    expect((await search('service=mpi')).total).toBe(1);
    expect((await search('criterion=MA-L3&date=ge2026-12-01T10:30:00Z')).total).toBe(1);
    expect((await search('criterion=SI-L3&outcome=4&agent=edinburgh-education')).total).toBe(1);
    expect((await search('criterion=IM-L5')).total).toBe(0);
  });

  it('finds by resolved subjects; a patient the hub does not know matches nothing', async () => {
    expect((await search('patient=Person/p1', ['Person/p1', 'Patient/nhs-lothian.A'])).total).toBe(3);
    expect((await search('patient=Person/zz', [])).total).toBe(0);
  });

  it('counts evidence by the rule: a denial counts only for SI-L3 / PD-L5, per partnership too', async () => {
    const stats = await index.evidenceStats(['MA-L3', 'MA-L4', 'SI-L3', 'PD-L4']);
    expect(stats.get('MA-L3')).toMatchObject({ count: 2, oldest: [{ at: Date.parse('2026-12-01T10:00:00Z') }, { at: Date.parse('2026-12-01T11:00:00Z') }], newest: [{ at: Date.parse('2026-12-01T11:00:00Z') }] });
    expect(stats.get('SI-L3')?.count).toBe(2);
    expect(stats.get('PD-L4')?.count).toBe(0);
    const fife = await index.evidenceStats(['SI-L3', 'MA-L3'], { partnership: 'fife' });
    expect(fife.get('SI-L3')?.count).toBe(1);
    expect(fife.get('MA-L3')?.count).toBe(0);
    const early = await index.evidenceStats(['MA-L3'], { to: Date.parse('2026-12-01T10:30:00Z') });
    expect(early.get('MA-L3')?.count).toBe(1);
    expect(await index.countAll({ partnership: 'fife' })).toBe(1);
  });

  it('exports every match oldest first in batches, and leaves no working set behind', async () => {
    const batches: string[][] = [];
    for await (const ids of index.exportIds(parseAuditSearch(new URLSearchParams('agent=nhs-lothian')), undefined, 2)) batches.push(ids);
    expect(batches.map((b) => b.length)).toEqual([2, 1]);
    const events = await index.events(batches.flat());
    expect(events.map((e) => e.recorded)).toEqual(['2026-12-01T10:00:00.000Z', '2026-12-01T11:00:00.000Z', '2026-12-02T09:30:00.000Z']);
    expect(await redis.keys(`${keys.prefix}:{audit}:ix:tmp:*`)).toEqual([]);
  });
});

describe('paging the log while it grows', () => {
  let redis: Redis;
  let keys: KeySpace;
  let index: SearchIndex;
  let sink: RedisAuditSink;
  const at = (minute: number) => new Date(Date.parse('2026-12-05T10:00:00Z') + minute * 60_000).toISOString();
  const append = async (recorded: readonly string[]) => {
    await sink.recordMany(recorded.map((r) => exchange({ recorded: r })));
    await index.catchUp();
  };
  const page = async (query: string) => index.search(parseAuditSearch(new URLSearchParams(query)));

  beforeEach(async () => {
    redis = testRedis();
    keys = new KeySpace(uniquePrefix('auditpage'));
    index = new SearchIndex(redis, keys);
    sink = new RedisAuditSink(redis, keys);
    // Nine entries; three share one millisecond, so the order within a tie is tested too.
    await append([at(1), at(2), at(3), at(4), at(4), at(4), at(5), at(6), at(7)]);
  });
  afterEach(async () => {
    await deletePrefix(redis, keys.prefix);
    await redis.quit();
  });

  it('entries appended between pages: walking next from the first page shows every entry once, where _offset repeats them', async () => {
    const before = (await page('_count=100')).ids;
    expect(before).toHaveLength(9);
    const seen: string[] = [];
    let result = await page('_count=2');
    let byOffset = [...result.ids];
    for (let turn = 0; ; turn++) {
      seen.push(...result.ids);
      if (!result.more.after) break;
      // Two more exchanges (newer, and one in the same millisecond as the page's last entry) land before each next page.
      await append([at(10 + turn), at(4)]);
      byOffset = byOffset.concat((await page(`_count=2&_offset=${(turn + 1) * 2}`)).ids);
      result = await page(`_count=2&_cursor=after:${result.ids[result.ids.length - 1]}`);
    }
    expect(new Set(seen).size).toBe(seen.length);
    expect(seen.filter((id) => before.includes(id))).toEqual(before);
    // The late arrivals recorded at minute 4 are below the walker when they land: shown once too, in order.
    expect(seen.length).toBeGreaterThan(before.length);
    expect(new Set(byOffset).size).toBeLessThan(byOffset.length);
  });

  it('previous from a later page gives back the page before it, however many entries arrived since', async () => {
    const first = await page('_count=3');
    const second = await page(`_count=3&_cursor=after:${first.ids[2]}`);
    await append([at(20), at(21), at(22), at(23)]);
    const back = await page(`_count=3&_cursor=before:${second.ids[0]}`);
    expect(back.ids).toEqual(first.ids);
    expect(back.more).toEqual({ after: true, before: true });
    expect(second.more).toEqual({ after: true, before: true });
    const last = await page(`_count=3&_cursor=after:${(await page('_count=100')).ids[9]}`);
    expect(last.more.after).toBe(false);
    expect(last.ids).toHaveLength(3);
  });

  it('keeps a date range and the filters while paging by position, and refuses a position the search does not hold', async () => {
    const ranged = await page(`_count=2&date=ge${at(3)}&date=le${at(5)}`);
    expect(ranged.total).toBe(5);
    const rest = await page(`_count=10&date=ge${at(3)}&date=le${at(5)}&_cursor=after:${ranged.ids[1]}`);
    expect(rest.ids).toHaveLength(3);
    expect(rest.more.after).toBe(false);
    const top = await page(`_count=10&date=ge${at(3)}&date=le${at(5)}&_cursor=before:${ranged.ids[0]}`);
    expect(top).toMatchObject({ ids: [], more: { before: false } });
    await expect(page('_count=2&_cursor=after:1-0')).rejects.toMatchObject({ status: 400 });
    await expect(page(`_count=2&service=mpi&_cursor=after:${ranged.ids[0]}`)).rejects.toMatchObject({ status: 400 });
  });
});

describe("a person's accesses through the audit view", () => {
  let mpi: TestMpi;
  let view: AuditView;
  let index: SearchIndex;

  beforeAll(async () => {
    mpi = await startTestMpi();
    index = new SearchIndex(mpi.dir.redis, mpi.dir.keys);
    view = new AuditView(mpi.dir.redis, mpi.dir.keys, new MpiView(mpi.dir.redis, mpi.dir.keys));
  });
  afterAll(async () => {
    await mpi.close();
  });

  it('lists the exchanges about every agency record of the person, newest first, and resolves a CHI the same way', async () => {
    const chi = testChi('1980-05-06', 'male', 11);
    const details = { given: ['Euan'], family: 'Kerr', birthDate: '1980-05-06', gender: 'male' as const, postcode: 'EH6 6AA', line: '1 Shore', chi };
    const first = await mpi.registered('nhs-lothian', 'AV-1', details);
    await mpi.registered('gp-leith-cluster', 'AV-2', details);
    const personId = first.outcome.person!.split('/')[1]!;
    await index.catchUp();
    const { total, accesses } = await view.accessesTo(personId);
    expect(total).toBeGreaterThanOrEqual(2);
    expect(accesses.map((a) => a.agency)).toEqual(expect.arrayContaining(['nhs-lothian', 'gp-leith-cluster']));
    expect(accesses.map((a) => a.subject)).toEqual(expect.arrayContaining(['Patient/nhs-lothian.AV-1', 'Patient/gp-leith-cluster.AV-2']));
    const times = accesses.map((a) => a.recorded);
    expect([...times].sort().reverse()).toEqual(times);
    const byChi = await new SubjectResolver(new MpiView(mpi.dir.redis, mpi.dir.keys)).subjectsOf([`${IdentifierSystems.chi}|${chi}`]);
    expect(byChi).toEqual(expect.arrayContaining([`Person/${personId}`, 'Patient/nhs-lothian.AV-1', 'Patient/gp-leith-cluster.AV-2']));
  });
});
