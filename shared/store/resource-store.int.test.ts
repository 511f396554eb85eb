import type { CareTeam, Organization } from 'fhir/r4.js';
import type { Redis } from 'ioredis';
import { OperationOutcomeError, statusOf } from '../fhir/outcome.js';
import { KeySpace } from '../redis/connection.js';
import { deletePrefix, testRedis, uniquePrefix } from '../../test/redis.js';
import { ResourceStore } from './resource-store.js';
import {
  codingsOf,
  dateParam,
  defineResourceType,
  identifiersOf,
  referenceParam,
  referencesOf,
  stringParam,
  tokenParam,
} from './search-params.js';

const AGENCY_TYPE = 'https://fhir.infoshare.scot/CodeSystem/agency-type';
const AGENCY_ID = 'https://fhir.infoshare.scot/id/agency';

const organizationType = defineResourceType('Organization', [
  tokenParam('identifier', (r) => identifiersOf(r.identifier)),
  tokenParam('type', (r) => codingsOf(r.type)),
  stringParam('name', (r) => [r.name, ...(r.alias ?? [])]),
  referenceParam('partof', ['Organization'], (r) => referencesOf(r.partOf)),
]);

const careTeamType = defineResourceType('CareTeam', [
  referenceParam('subject', ['Patient', 'Group'], (r) => referencesOf(r.subject)),
  dateParam('date', (r) => [r.period ?? undefined]),
]);

function organization(name: string, type: string, extra: Partial<Organization> = {}): Organization {
  return { resourceType: 'Organization', name, type: [{ coding: [{ system: AGENCY_TYPE, code: type }] }], ...extra };
}

async function statusOfFailure(promise: Promise<unknown>): Promise<number> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof OperationOutcomeError) return statusOf(error);
    throw error;
  }
  throw new Error('expected the call to fail');
}

describe('ResourceStore (real Redis)', () => {
  let redis: Redis;
  let prefix: string;
  let store: ResourceStore;

  beforeAll(() => {
    redis = testRedis();
  });

  beforeEach(() => {
    prefix = uniquePrefix('store');
    store = new ResourceStore(redis, new KeySpace(prefix), [organizationType, careTeamType]);
  });

  afterEach(async () => {
    await deletePrefix(redis, prefix);
  });

  afterAll(async () => {
    await redis.quit();
  });

  describe('create, read, vread', () => {
    it('assigns a random id, versionId 1 and lastUpdated on create, and reads it back', async () => {
      const created = await store.create(organization('NHS Lothian', 'nhs-board'));
      expect(created.id).toMatch(/^[0-9a-f-]{36}$/);
      expect(created.meta?.versionId).toBe('1');
      expect(Date.parse(created.meta?.lastUpdated ?? '')).not.toBeNaN();
      expect(await store.read('Organization', created.id ?? '')).toEqual(created);
    });

    it('keeps a given id and the rest of meta, but replaces versionId and lastUpdated', async () => {
      const created = await store.create(
        organization('Lothian Police', 'police', {
          id: 'police-1',
          meta: { versionId: '99', lastUpdated: '2000-01-01T00:00:00Z', tag: [{ code: 'demo' }] },
        }),
      );
      expect(created.id).toBe('police-1');
      expect(created.meta).toEqual({ versionId: '1', lastUpdated: expect.any(String), tag: [{ code: 'demo' }] });
      expect(created.meta?.lastUpdated).not.toBe('2000-01-01T00:00:00Z');
    });

    it('refuses to create over a live id with 409', async () => {
      await store.create(organization('A', 'police', { id: 'dup' }));
      expect(await statusOfFailure(store.create(organization('B', 'police', { id: 'dup' })))).toBe(409);
    });

    it('answers 404 for an unknown id and an unserved type', async () => {
      expect(await statusOfFailure(store.read('Organization', 'nope'))).toBe(404);
      expect(await statusOfFailure(store.read('Patient', 'x'))).toBe(404);
      expect(await statusOfFailure(store.read('Organization', 'not a valid id!'))).toBe(404);
    });

    it('reads any earlier version with vread and 404s a version that never existed', async () => {
      const v1 = await store.create(organization('Old name', 'housing', { id: 'h1' }));
      const { resource: v2 } = await store.update({ ...v1, name: 'New name' });
      expect(v2.meta?.versionId).toBe('2');
      expect(await store.vread('Organization', 'h1', '1')).toEqual(v1);
      expect(await store.vread('Organization', 'h1', '2')).toEqual(v2);
      expect(await statusOfFailure(store.vread('Organization', 'h1', '3'))).toBe(404);
      expect(await statusOfFailure(store.vread('Organization', 'h1', 'x'))).toBe(404);
    });
  });

  describe('update', () => {
    it('increments the version and keeps older versions in history, newest first', async () => {
      const v1 = await store.create(organization('One', 'education', { id: 'e1' }));
      const v2 = (await store.update({ ...v1, name: 'Two' })).resource;
      const v3 = (await store.update({ ...v2, name: 'Three' })).resource;
      const history = await store.history('Organization', 'e1');
      expect(history.map((h) => h.versionId)).toEqual(['3', '2', '1']);
      expect(history.map((h) => h.resource?.name)).toEqual(['Three', 'Two', 'One']);
      expect(history[0]?.resource).toEqual(v3);
      expect(history.every((h) => !h.deleted)).toBe(true);
    });

    it('moves the type revision on every write, and not on an unchanged upsert (so whole-type caches know when to re-read)', async () => {
      const r0 = await store.revision('Organization');
      const created = await store.create(organization('Rev', 'education', { id: 'rev1' }));
      const r1 = await store.revision('Organization');
      expect(r1).not.toBe(r0);
      await store.upsert(created);
      expect(await store.revision('Organization')).toBe(r1);
      await store.update({ ...created, name: 'Rev 2' });
      const r2 = await store.revision('Organization');
      expect(r2).not.toBe(r1);
      await store.delete('Organization', 'rev1');
      expect(await store.revision('Organization')).not.toBe(r2);
      expect(await store.revision('CareTeam')).toBe('0');
    });

    it('stores the current version only once (not also in history)', async () => {
      const v1 = await store.create(organization('One', 'education', { id: 'e2' }));
      await store.update({ ...v1, name: 'Two' });
      const keys = new KeySpace(prefix);
      expect(await redis.hkeys(keys.key('fhir:Organization', 'hist'))).toEqual(['e2/1']);
    });

    it('creates the resource when updating an unknown id, unless creation is forbidden', async () => {
      const result = await store.update(organization('Fire', 'fire', { id: 'fire-1' }));
      expect(result.outcome).toBe('created');
      expect(result.resource.meta?.versionId).toBe('1');
      expect(await statusOfFailure(store.update(organization('X', 'fire', { id: 'fire-2' }), { allowCreate: false }))).toBe(404);
    });

    it('applies an update whose If-Match names the current version, as a versionId or a weak ETag', async () => {
      const v1 = await store.create(organization('A', 'police', { id: 'p1' }));
      const v2 = await store.update({ ...v1, name: 'B' }, { ifMatch: '1' });
      expect(v2.outcome).toBe('updated');
      const v3 = await store.update({ ...v1, name: 'C' }, { ifMatch: 'W/"2"' });
      expect(v3.resource.meta?.versionId).toBe('3');
    });

    it('refuses an update with a stale If-Match with 412 and leaves the resource unchanged', async () => {
      const v1 = await store.create(organization('A', 'police', { id: 'p2' }));
      await store.update({ ...v1, name: 'B' }, { ifMatch: '1' });
      expect(await statusOfFailure(store.update({ ...v1, name: 'C' }, { ifMatch: '1' }))).toBe(412);
      expect(await statusOfFailure(store.update(organization('D', 'police', { id: 'unknown' }), { ifMatch: '1' }))).toBe(412);
      const current = await store.read('Organization', 'p2');
      expect(current.name).toBe('B');
      expect(current.meta?.versionId).toBe('2');
    });

    it('lets exactly one of many concurrent updates with the same If-Match win', async () => {
      const v1 = await store.create(organization('Start', 'social-work', { id: 'race' }));
      const attempts = Array.from({ length: 20 }, (_, i) =>
        store.update({ ...v1, name: `Writer ${i}` }, { ifMatch: 'W/"1"' }).then(
          () => 'won',
          (error: unknown) => (error instanceof OperationOutcomeError ? statusOf(error) : error),
        ),
      );
      const results = await Promise.all(attempts);
      expect(results.filter((r) => r === 'won')).toHaveLength(1);
      expect(results.filter((r) => r === 412)).toHaveLength(19);
      const history = await store.history('Organization', 'race');
      expect(history.map((h) => h.versionId)).toEqual(['2', '1']);
    });

    it('refuses a write with an If-Match that is not a version with 400', async () => {
      const v1 = await store.create(organization('A', 'police', { id: 'p3' }));
      expect(await statusOfFailure(store.update(v1, { ifMatch: 'W/"abc"' }))).toBe(400);
    });
  });

  describe('delete', () => {
    it('answers 410 after delete, keeps history, and hides the resource from search', async () => {
      const v1 = await store.create(organization('Gone Soon', 'housing', { id: 'd1' }));
      const result = await store.delete('Organization', 'd1');
      expect(result).toEqual({ deleted: true, versionId: '2' });
      expect(await statusOfFailure(store.read('Organization', 'd1'))).toBe(410);
      expect(await statusOfFailure(store.vread('Organization', 'd1', '2'))).toBe(410);
      expect(await store.vread('Organization', 'd1', '1')).toEqual(v1);
      const history = await store.history('Organization', 'd1');
      expect(history.map((h) => [h.versionId, h.deleted])).toEqual([
        ['2', true],
        ['1', false],
      ]);
      expect((await store.search('Organization', { name: 'gone' })).resources).toEqual([]);
      expect((await store.search('Organization', {})).total).toBe(0);
    });

    it('treats deleting a missing or already deleted resource as a no-op', async () => {
      await store.create(organization('X', 'housing', { id: 'd2' }));
      await store.delete('Organization', 'd2');
      expect(await store.delete('Organization', 'd2')).toEqual({ deleted: false });
      expect(await store.delete('Organization', 'never')).toEqual({ deleted: false });
      expect((await store.history('Organization', 'd2')).length).toBe(2);
    });

    it('refuses a delete with a stale If-Match with 412', async () => {
      const v1 = await store.create(organization('X', 'housing', { id: 'd3' }));
      await store.update({ ...v1, name: 'Y' });
      expect(await statusOfFailure(store.delete('Organization', 'd3', { ifMatch: '1' }))).toBe(412);
      expect((await store.read('Organization', 'd3')).name).toBe('Y');
    });

    it('brings a deleted resource back with an update, continuing its version numbers', async () => {
      await store.create(organization('Back', 'housing', { id: 'd4' }));
      await store.delete('Organization', 'd4');
      expect(await statusOfFailure(store.update(organization('Back', 'housing', { id: 'd4' }), { allowCreate: false }))).toBe(410);
      const revived = await store.update(organization('Back again', 'housing', { id: 'd4' }));
      expect(revived.outcome).toBe('created');
      expect(revived.resource.meta?.versionId).toBe('3');
      expect((await store.search('Organization', { name: 'back' })).resources.map((r) => r.name)).toEqual(['Back again']);
    });
  });

  describe('search', () => {
    beforeEach(async () => {
      await Promise.all([
        store.create(
          organization('NHS Lothian', 'nhs-board', {
            id: 'board',
            identifier: [{ system: AGENCY_ID, value: 'NHS-L' }],
            alias: ['Lothian Health Board'],
          }),
        ),
        store.create(organization('Royal Infirmary A&E', 'emergency-department', { id: 'ae', partOf: { reference: 'Organization/board' } })),
        store.create(organization('Lothian Unscheduled Care', 'out-of-hours', { id: 'ooh', partOf: { reference: 'Organization/board' } })),
        store.create(organization('Édimbourg Social Work', 'social-work', { id: 'sw' })),
        store.create({
          resourceType: 'Organization',
          id: 'local',
          name: 'Local Code Only',
          type: [{ coding: [{ code: 'nhs-board' }] }],
        }),
      ]);
    });

    it('findExact reads the resources of one exact value with their index in one round trip, the same as a search, never a prefix or a deleted one', async () => {
      const ids = async (param: string, value: string) => (await store.findExact('Organization', param, value)).map((r) => r.id);
      expect(await ids('partof', 'Organization/board')).toEqual(['ae', 'ooh']);
      expect(await ids('partof', 'Organization/boar')).toEqual([]);
      await store.delete('Organization', 'ooh');
      expect(await ids('partof', 'Organization/board')).toEqual(['ae']);
      expect(await ids('type', `${AGENCY_TYPE}|social-work`)).toEqual(['sw']);
      // What one exact range cannot answer (a string prefix) is an ordinary search.
      expect(await ids('name', 'lothian')).toEqual((await store.search('Organization', { name: 'lothian' })).resources.map((r) => r.id));
    });

    it('finds by token as code, system|code, |code and system|', async () => {
      const ids = async (type: string) => (await store.search('Organization', { type })).resources.map((r) => r.id);
      expect(await ids('nhs-board')).toEqual(['board', 'local']);
      expect(await ids(`${AGENCY_TYPE}|nhs-board`)).toEqual(['board']);
      expect(await ids('|nhs-board')).toEqual(['local']);
      expect(await ids(`${AGENCY_TYPE}|`)).toEqual(['ae', 'board', 'ooh', 'sw']);
      expect(await ids('police')).toEqual([]);
    });

    it('ORs comma-separated values and ANDs parameters', async () => {
      const either = await store.search('Organization', { type: 'out-of-hours,emergency-department' });
      expect(either.resources.map((r) => r.id)).toEqual(['ae', 'ooh']);
      const both = await store.search('Organization', { type: 'out-of-hours,emergency-department', name: 'lothian' });
      expect(both.resources.map((r) => r.id)).toEqual(['ooh']);
    });

    it('finds by reference as Type/id, absolute URL and plain id', async () => {
      for (const partof of ['Organization/board', 'board', 'https://hub.example/fhir/Organization/board']) {
        const { resources } = await store.search('Organization', { partof });
        expect(resources.map((r) => r.id)).toEqual(['ae', 'ooh']);
      }
    });

    it('finds by identifier and loads by identifier', async () => {
      expect((await store.search('Organization', { identifier: `${AGENCY_ID}|NHS-L` })).resources.map((r) => r.id)).toEqual(['board']);
      expect((await store.findByIdentifier('Organization', AGENCY_ID, 'NHS-L')).map((r) => r.id)).toEqual(['board']);
      expect(await store.findByIdentifier('Organization', AGENCY_ID, 'nope')).toEqual([]);
    });

    it('matches strings by case- and accent-insensitive prefix over every value', async () => {
      const names = async (name: string) => (await store.search('Organization', { name })).resources.map((r) => r.id);
      expect(await names('LOTH')).toEqual(['board', 'ooh']);
      expect(await names('edimb')).toEqual(['sw']);
      expect(await names('lothian health')).toEqual(['board']);
      expect(await names('infirmary')).toEqual([]);
    });

    it('finds by _id and by _lastUpdated range', async () => {
      expect((await store.search('Organization', { _id: 'ae,sw,missing' })).resources.map((r) => r.id)).toEqual(['ae', 'sw']);
      const before = new Date(Date.now() - 60_000).toISOString();
      const after = new Date(Date.now() + 60_000).toISOString();
      expect((await store.search('Organization', { _lastUpdated: `ge${before}` })).total).toBe(5);
      expect((await store.search('Organization', { _lastUpdated: `gt${after}` })).total).toBe(0);
      expect((await store.search('Organization', { _lastUpdated: [`ge${before}`, `le${after}`] })).total).toBe(5);
    });

    it('pages by _offset and _count in a stable order, with the total', async () => {
      const page1 = await store.search('Organization', { _count: '2' });
      const page2 = await store.search('Organization', { _count: '2', _offset: '2' });
      const page3 = await store.search('Organization', { _count: '2', _offset: '4' });
      expect(page1).toMatchObject({ total: 5, offset: 0, count: 2 });
      expect([...page1.resources, ...page2.resources, ...page3.resources].map((r) => r.id)).toEqual(['ae', 'board', 'local', 'ooh', 'sw']);
      const filtered = await store.search('Organization', { type: 'nhs-board,out-of-hours', _count: '1', _offset: '1' });
      expect(filtered).toMatchObject({ total: 3, offset: 1, count: 1 });
      expect(filtered.resources.map((r) => r.id)).toEqual(['local']);
    });

    it('counts without returning resources for _summary=count', async () => {
      const counted = await store.search('Organization', { type: 'nhs-board,out-of-hours', _summary: 'count' });
      expect(counted).toMatchObject({ total: 3, count: 0, resources: [] });
      expect((await store.search('Organization', { _summary: 'count', _total: 'none' })).total).toBe(5);
    });

    it('leaves the total out when asked to', async () => {
      expect('total' in (await store.search('Organization', { _total: 'none' }))).toBe(false);
      expect('total' in (await store.search('Organization', { type: 'nhs-board' }, { total: false }))).toBe(false);
    });

    it('answers 400 naming an unknown parameter', async () => {
      const error = await store.search('Organization', { colour: 'blue' }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(OperationOutcomeError);
      expect(statusOf(error as OperationOutcomeError)).toBe(400);
      expect((error as OperationOutcomeError).message).toContain('colour');
    });

    it('stops finding a resource by its old values once it is updated', async () => {
      const board = await store.read('Organization', 'board');
      await store.update({ ...board, name: 'Renamed Board', type: [{ coding: [{ system: AGENCY_TYPE, code: 'partnership' }] }] });
      expect((await store.search('Organization', { name: 'nhs' })).resources).toEqual([]);
      expect((await store.search('Organization', { type: 'nhs-board' })).resources.map((r) => r.id)).toEqual(['local']);
      expect((await store.search('Organization', { name: 'renamed', type: 'partnership' })).resources.map((r) => r.id)).toEqual(['board']);
    });
  });

  describe('projections', () => {
    // A type keeping a compact text of each version beside it: here the name and the partOf reference.
    const projectedType = defineResourceType('Organization', [referenceParam('partof', ['Organization'], (r) => referencesOf(r.partOf))], {
      projection: (r) => `${r.name ?? ''}|${r.partOf?.reference ?? ''}`,
    });

    it('keeps each version’s projection with it — written by create and update, gone with a delete — and reads them by one exact value', async () => {
      const projected = new ResourceStore(redis, new KeySpace(prefix), [projectedType]);
      const under = () => projected.findProjections('Organization', 'partof', 'Organization/board');
      await projected.create(organization('A&E', 'emergency-department', { id: 'ae', partOf: { reference: 'Organization/board' } }));
      const ooh = await projected.create(organization('Out of hours', 'out-of-hours', { id: 'ooh', partOf: { reference: 'Organization/board' } }));
      expect(await under()).toEqual(['A&E|Organization/board', 'Out of hours|Organization/board']);
      await projected.update({ ...ooh, name: 'OOH service' });
      expect(await under()).toEqual(['A&E|Organization/board', 'OOH service|Organization/board']);
      await projected.update({ ...ooh, name: 'OOH service', partOf: { reference: 'Organization/other' } });
      expect(await under()).toEqual(['A&E|Organization/board']);
      expect(await projected.findProjections('Organization', 'partof', 'Organization/other')).toEqual(['OOH service|Organization/other']);
      await projected.delete('Organization', 'ae');
      expect(await under()).toEqual([]);
      expect(await redis.hkeys(new KeySpace(prefix).key('fhir:Organization', 'proj'))).toEqual(['ooh']);
    });

    it('projects a version stored before its type declared a projection from the version itself', async () => {
      await store.create(organization('A&E', 'emergency-department', { id: 'ae', partOf: { reference: 'Organization/board' } }));
      const projected = new ResourceStore(redis, new KeySpace(prefix), [projectedType]);
      expect(await projected.findProjections('Organization', 'partof', 'Organization/board')).toEqual(['A&E|Organization/board']);
    });

    it('writes a new version on an upsert whose projection changed though the resource did not (the projection’s rules changed)', async () => {
      await store.upsert(organization('A&E', 'emergency-department', { id: 'ae', partOf: { reference: 'Organization/board' } }));
      const projected = new ResourceStore(redis, new KeySpace(prefix), [projectedType]);
      const again = await projected.upsert(organization('A&E', 'emergency-department', { id: 'ae', partOf: { reference: 'Organization/board' } }));
      expect(again.outcome).toBe('updated');
      expect(await redis.hget(new KeySpace(prefix).key('fhir:Organization', 'proj'), 'ae')).toBe('A&E|Organization/board');
    });
  });

  describe('date search', () => {
    beforeEach(async () => {
      const team = (id: string, start?: string, end?: string): CareTeam => ({
        resourceType: 'CareTeam',
        id,
        subject: { reference: `Patient/${id}-child` },
        period: { start, end },
      });
      await Promise.all([
        store.create(team('spring', '2024-03-01', '2024-05-31')),
        store.create(team('summer', '2024-06-01T09:00:00Z', '2024-08-31T17:00:00Z')),
        store.create(team('ongoing', '2024-09-01')),
      ]);
    });

    const ids = async (date: string | string[]) => (await store.search('CareTeam', { date })).resources.map((r) => r.id);

    it('matches eq when the period lies within the given span', async () => {
      expect(await ids('2024')).toEqual(['spring', 'summer']);
      expect(await ids('2024-03')).toEqual([]);
    });

    it('matches ge, gt, le and lt against period ends, open ends included', async () => {
      expect(await ids('ge2024-06-01')).toEqual(['ongoing', 'summer']);
      expect(await ids('gt2024-08-31')).toEqual(['ongoing']);
      expect(await ids('le2024-03-01')).toEqual(['spring']);
      expect(await ids('lt2024-06-01')).toEqual(['spring']);
      expect(await ids(['ge2024-04-01', 'le2024-07-01'])).toEqual(['spring', 'summer']);
    });

    it('finds by a plain id among several target types and by Type/id', async () => {
      expect((await store.search('CareTeam', { subject: 'spring-child' })).resources.map((r) => r.id)).toEqual(['spring']);
      expect((await store.search('CareTeam', { subject: 'Patient/summer-child' })).resources.map((r) => r.id)).toEqual(['summer']);
      expect((await store.search('CareTeam', { 'subject:Group': 'summer-child' })).resources).toEqual([]);
    });
  });

  describe('idempotent loading', () => {
    it('writes no new version when upserting unchanged content, whatever its key order or meta', async () => {
      const first = await store.upsert(organization('Fixture Agency', 'third-sector', { id: 'fx', active: true }));
      expect(first.outcome).toBe('created');
      const again = await store.upsert({
        active: true,
        type: [{ coding: [{ code: 'third-sector', system: AGENCY_TYPE }] }],
        name: 'Fixture Agency',
        id: 'fx',
        resourceType: 'Organization',
        meta: { versionId: '7', lastUpdated: '2020-01-01T00:00:00Z' },
      });
      expect(again.outcome).toBe('unchanged');
      expect(again.resource).toEqual(first.resource);
      const changed = await store.upsert(organization('Fixture Agency (renamed)', 'third-sector', { id: 'fx', active: true }));
      expect(changed.outcome).toBe('updated');
      expect(changed.resource.meta?.versionId).toBe('2');
    });

    it('re-indexes on upsert when the search parameters changed, even if the content did not', async () => {
      await store.upsert(organization('Reindexed', 'police', { id: 'ri', alias: ['Old alias'] }));
      const withAliasSearch = defineResourceType('Organization', [stringParam('alias', (r) => r.alias ?? [])]);
      const newStore = new ResourceStore(redis, new KeySpace(prefix), [withAliasSearch]);
      const reloaded = await newStore.upsert(organization('Reindexed', 'police', { id: 'ri', alias: ['Old alias'] }));
      expect(reloaded.outcome).toBe('updated');
      expect((await newStore.search('Organization', { alias: 'old' })).resources.map((r) => r.id)).toEqual(['ri']);
      expect((await newStore.upsert(organization('Reindexed', 'police', { id: 'ri', alias: ['Old alias'] }))).outcome).toBe('unchanged');
    });

    it('creates once and then returns the existing match on conditional create', async () => {
      const resource = organization('Conditional', 'police', { identifier: [{ system: AGENCY_ID, value: 'COND' }] });
      const first = await store.conditionalCreate(resource, { identifier: `${AGENCY_ID}|COND` });
      const second = await store.conditionalCreate(resource, { identifier: `${AGENCY_ID}|COND` });
      expect(first.outcome).toBe('created');
      expect(second).toEqual({ resource: first.resource, outcome: 'unchanged' });
    });

    it('creates exactly once when identical conditional creates race, over several connections, amid other writes of the type', async () => {
      // Several replicas of a service: each its own connection, so the requests really interleave in Redis.
      const connections = Array.from({ length: 4 }, () => testRedis());
      try {
        const stores = connections.map((c) => new ResourceStore(c, new KeySpace(prefix), [organizationType, careTeamType]));
        const resource = organization('Raced', 'police', { identifier: [{ system: AGENCY_ID, value: 'RACE' }] });
        const racing = Array.from({ length: 24 }, (_, i) => stores[i % stores.length]!.conditionalCreate(resource, { identifier: `${AGENCY_ID}|RACE` }));
        // Unrelated writes of the same type move its revision meanwhile: they must not make anyone create twice.
        const others = Array.from({ length: 24 }, (_, i) => stores[i % stores.length]!.create(organization(`Other ${i}`, 'housing')));
        const [results] = await Promise.all([Promise.all(racing), Promise.all(others)]);
        expect(results.filter((r) => r.outcome === 'created')).toHaveLength(1);
        expect(new Set(results.map((r) => r.resource.id)).size).toBe(1);
        expect((await store.search('Organization', { identifier: `${AGENCY_ID}|RACE` })).total).toBe(1);
      } finally {
        await Promise.all(connections.map((c) => c.quit()));
      }
    });

    it('answers 412 on a conditional create whose criteria match several', async () => {
      const twin = (name: string) => organization(name, 'police', { identifier: [{ system: AGENCY_ID, value: 'TWIN' }] });
      await Promise.all([store.create(twin('One')), store.create(twin('Two'))]);
      expect(await statusOfFailure(store.conditionalCreate(twin('Three'), { identifier: `${AGENCY_ID}|TWIN` }))).toBe(412);
    });

    it('refuses (400) a conditional create whose criteria select nothing, rather than match every resource', async () => {
      const probe = organization('Probe', 'police', { identifier: [{ system: AGENCY_ID, value: 'NO-CRITERIA' }] });
      for (const criteria of [{}, { _count: '1' }, { _format: 'json', _total: 'none' }, { identifier: '' }]) {
        expect({ criteria, status: await statusOfFailure(store.conditionalCreate(probe, criteria)) }).toEqual({ criteria, status: 400 });
      }
      expect((await store.search('Organization', { identifier: `${AGENCY_ID}|NO-CRITERIA` })).total).toBe(0);
    });

    it('loads ten thousand resources written concurrently, each once', async () => {
      const batch = Array.from({ length: 10_000 }, (_, i) => organization(`Agency ${i}`, i % 2 ? 'police' : 'housing', { id: `bulk-${i}` }));
      const results = await Promise.all(batch.map((r) => store.upsert(r)));
      expect(results.every((r) => r.outcome === 'created')).toBe(true);
      const police = await store.search('Organization', { type: 'police', _count: '0' });
      expect(police.total).toBe(5_000);
      const again = await Promise.all(batch.slice(0, 100).map((r) => store.upsert(r)));
      expect(again.every((r) => r.outcome === 'unchanged')).toBe(true);
    });
  });
});
