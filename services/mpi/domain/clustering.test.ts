import { generateRandomisedPopulation } from '../../../fixtures/generators/randomised-population.js';
import { Random } from '../../../fixtures/generators/random.js';
import { clusterRecords, personsForClusters, planRecluster } from './clustering.js';
import { toFeatures, type MatchFeatures } from './features.js';
import { pairKey, type PersonLink } from './links.js';
import defaultModel from './default-model.json' with { type: 'json' };
import { assertValidModel, type MatchModel } from './model.js';
import type { DemographicRecord } from './record.js';

const raw: unknown = defaultModel;
assertValidModel(raw);
const model: MatchModel = raw;

const person = (id: string, r: Omit<DemographicRecord, 'id'>): MatchFeatures => toFeatures({ id, ...r });
const moira = { given: ['Moira'], family: 'Brown', birthDate: '1984-03-02', gender: 'female' as const, postcode: 'EH6 8QZ', addressLine: '14 Easter Road' };

describe('clusterRecords', () => {
  const population = generateRandomisedPopulation({ seed: 3, people: 400 });
  const features = population.records.map((r, i) =>
    toFeatures({
      id: `${r.agencyId}.${i}`,
      agency: r.agencyId,
      given: r.given,
      ...(r.chi ? { chi: r.chi } : {}),
      ...(r.family ? { family: r.family } : {}),
      ...(r.birthDate ? { birthDate: r.birthDate } : {}),
      ...(r.gender ? { gender: r.gender } : {}),
      ...(r.postcode ? { postcode: r.postcode } : {}),
      ...(r.addressLine ? { addressLine: r.addressLine } : {}),
    }),
  );

  it('gives the same clusters and review questions whatever order the records come in', () => {
    const once = clusterRecords({ records: features, model });
    for (const seed of [1, 2, 3]) {
      const shuffled = new Random(seed).shuffle([...features]);
      expect(clusterRecords({ records: shuffled, model })).toEqual(once);
    }
    expect(once.clusters.length).toBeLessThan(features.length);
  });

  it('puts every record in exactly one cluster', () => {
    const { clusters } = clusterRecords({ records: features, model });
    const ids = clusters.flat();
    expect(ids).toHaveLength(features.length);
    expect(new Set(ids).size).toBe(features.length);
  });

  it('never joins twins through a record that links to both (the contradiction blocks the chain)', () => {
    // Two twins (same surname, birth date and address, different forenames) and a record that
    // names neither forename fully but shares the CHI of one: it joins that twin only.
    const chiA = '0203841236';
    const a = person('nhs.a', { ...moira, chi: chiA });
    const b = person('nhs.b', { ...moira, given: ['Mhairi'] });
    const c = person('sw.c', { ...moira, chi: chiA, given: ['M'] });
    const { clusters } = clusterRecords({ records: [a, b, c], model });
    expect(clusters).toContainEqual(['nhs.a', 'sw.c']);
    expect(clusters).toContainEqual(['nhs.b']);
  });

  it('never makes one cluster of two different CHIs, even through a record that links to both: one review question instead', () => {
    const a = person('nhs.a', { ...moira, chi: '0203840208' });
    const b = person('nhs.b', { ...moira, chi: '0203840224' });
    const x = person('sw.x', moira);
    const { clusters, reviews } = clusterRecords({ records: [a, b, x], model });
    expect(clusters).toHaveLength(2);
    expect(clusters.some((c) => c.includes('nhs.a') && c.includes('nhs.b'))).toBe(false);
    expect(reviews).toHaveLength(1);
  });

  it('keeps a record carrying a parent’s CHI out of the parent’s Person, so the parent’s own records join', () => {
    const father = { given: ['Alan'], family: 'Adam', birthDate: '1955-08-15', gender: 'male' as const, postcode: 'EH6 8QZ', addressLine: '14 Easter Road' };
    const nhs = person('nhs.f', { ...father, chi: '1508550212' });
    const police = person('pol.f', { ...father, given: ['ALAN'], family: 'ADAM' });
    const son = person('sw.s', { ...father, given: ['Jamie'], birthDate: '1986-05-02', chi: '1508550212' });
    const { clusters, reviews } = clusterRecords({ records: [nhs, police, son], model });
    expect(clusters).toEqual([['nhs.f', 'pol.f'], ['sw.s']]);
    expect(reviews).toEqual([expect.objectContaining({ recordId: 'sw.s', candidateId: 'nhs.f' })]);
  });

  it('keeps apart a pair a reviewer kept apart, and joins a pair a reviewer linked', () => {
    const a = person('nhs.a', moira);
    const b = person('sw.b', { ...moira, postcode: 'EH7 5AB', addressLine: '3 Leith Walk' });
    expect(clusterRecords({ records: [a, b], model }).clusters).toEqual([['nhs.a', 'sw.b']]);
    const apart = clusterRecords({ records: [a, b], model, decisions: new Map([[pairKey('nhs.a', 'sw.b'), { decision: 'not-link' as const }]]) });
    expect(apart.clusters).toEqual([['nhs.a'], ['sw.b']]);
    expect(apart.reviews).toEqual([]);
    const stranger = person('pol.s', { given: ['Jack'], family: 'Reid', birthDate: '1950-01-01', gender: 'male' });
    const linked = clusterRecords({ records: [a, stranger], model, decisions: new Map([[pairKey('nhs.a', 'pol.s'), { decision: 'link' as const }]]) });
    expect(linked.clusters).toEqual([['nhs.a', 'pol.s']]);
  });
});

describe('personsForClusters', () => {
  it('keeps the Person most of a cluster’s records are in, gives a reviewer’s Person to the cluster holding their records, and a new one otherwise', () => {
    const current = new Map([
      ['a', 'per-1'],
      ['b', 'per-1'],
      ['c', 'per-2'],
      ['d', 'per-1'],
    ]);
    let n = 0;
    const ids = personsForClusters([['a', 'b', 'c'], ['d'], ['e']], (id) => current.get(id), new Map([['d', 'per-9']]), () => `per-new${++n}`);
    expect(ids).toEqual(['per-1', 'per-9', 'per-new1']);
  });
});

describe('planRecluster', () => {
  const a = person('nhs.a', moira);
  const b = person('sw.b', { ...moira, given: ['Moira'], postcode: 'EH7 5AB', addressLine: '3 Leith Walk' });
  const link = (personId: string, how: PersonLink['how'] = 'new'): PersonLink => ({ personId, assurance: how === 'new' ? 'level1' : how === 'manual' ? 'level2' : 'level3', how });

  it('moves a record its arrival order left alone into its Person, and then has nothing more to do', () => {
    const links = new Map([
      ['nhs.a', link('per-a')],
      ['sw.b', link('per-b')],
    ]);
    const plan = planRecluster({ records: [a, b], links, decisions: new Map(), openTasks: [], model, newPersonId: () => 'per-x' });
    expect(plan.moves).toHaveLength(2);
    const target = plan.moves[0]!.personId;
    expect(plan.moves.every((m) => m.personId === target && m.how === 'auto')).toBe(true);
    const after = new Map(plan.moves.map((m) => [m.recordId, { personId: m.personId, assurance: m.assurance, how: m.how }] as const));
    const again = planRecluster({ records: [a, b], links: after, decisions: new Map(), openTasks: [], model, newPersonId: () => 'per-y' });
    expect(again.moves).toEqual([]);
  });

  it('never moves a record a reviewer placed, and honours a merge question answered “not the same”', () => {
    const placed = planRecluster({
      records: [a, b],
      links: new Map([
        ['nhs.a', link('per-a')],
        ['sw.b', link('per-b', 'manual')],
      ]),
      decisions: new Map(),
      openTasks: [],
      model,
      newPersonId: () => 'per-x',
    });
    expect(placed.moves.map((m) => m.recordId)).toEqual(['nhs.a']);
    expect(placed.moves[0]!.personId).toBe('per-b');

    const keptApart = planRecluster({
      records: [a, b],
      links: new Map([
        ['nhs.a', link('per-a')],
        ['sw.b', link('per-b')],
      ]),
      decisions: new Map([[pairKey('per-a', 'per-b'), { decision: 'not-link' as const }]]),
      openTasks: [{ taskId: 'mr-1', recordId: 'sw.b', candidateId: 'nhs.a' }],
      model,
      newPersonId: () => 'per-x',
    });
    expect(keptApart.moves).toEqual([]);
    // The open question is no longer one: withdrawn.
    expect(keptApart.staleTasks).toEqual(['mr-1']);
  });
});
