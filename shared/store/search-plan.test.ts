import { OperationOutcomeError, statusOf } from '../fhir/outcome.js';
import { codingsOf, dateParam, defineResourceType, referenceParam, referencesOf, stringParam, tokenParam } from './search-params.js';
import { inPlanOrder, lexBounds, matchingIds, planRanges, planSearch, scoreBounds, type IndexRange, type SearchPlan } from './search-plan.js';

const careTeam = defineResourceType('CareTeam', [
  tokenParam('category', (r) => codingsOf(r.category)),
  referenceParam('subject', ['Patient', 'Group'], (r) => referencesOf(r.subject)),
  referenceParam('encounter', ['Encounter'], (r) => referencesOf(r.encounter)),
  dateParam('date', (r) => [r.period ?? undefined]),
  stringParam('name', (r) => [r.name]),
]);

function badRequestText(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    if (error instanceof OperationOutcomeError && statusOf(error) === 400) return error.message;
    throw error;
  }
  throw new Error('expected a 400');
}

const day = (iso: string) => ({ lo: Date.parse(`${iso}T00:00:00Z`), hi: Date.parse(`${iso}T00:00:00Z`) + 86_400_000 - 1 });

describe('planSearch: parameters', () => {
  it('turns token forms into exact or prefix ranges on the encoded values', () => {
    const plan = planSearch(careTeam, { category: ['a', 'urn:s|b', '|c', 'urn:s|'] });
    expect(plan.clauses.map((c) => c.alternatives)).toEqual([
      [[{ kind: 'lex', index: 'category', value: 'Ca', match: 'exact' }]],
      [[{ kind: 'lex', index: 'category', value: 'Surn:s|b', match: 'exact' }]],
      [[{ kind: 'lex', index: 'category', value: 'Nc', match: 'exact' }]],
      [[{ kind: 'lex', index: 'category', value: 'Surn:s|', match: 'prefix' }]],
    ]);
  });

  it('ORs comma-separated values within one clause and honours escaped commas and pipes', () => {
    const plan = planSearch(careTeam, { category: 'a,b\\,c', name: 'x\\|y' });
    expect(plan.clauses).toEqual([
      {
        param: 'category',
        alternatives: [
          [{ kind: 'lex', index: 'category', value: 'Ca', match: 'exact' }],
          [{ kind: 'lex', index: 'category', value: 'Cb,c', match: 'exact' }],
        ],
      },
      { param: 'name', alternatives: [[{ kind: 'lex', index: 'name', value: 'x|y', match: 'prefix' }]] },
    ]);
  });

  it('reads a plain reference id against every target type, or the one a :Type modifier names', () => {
    const ref = (query: Record<string, string>) => planSearch(careTeam, query).clauses[0]?.alternatives.flat();
    expect(ref({ subject: 'p1' })).toEqual([
      { kind: 'lex', index: 'subject', value: 'Patient/p1', match: 'exact' },
      { kind: 'lex', index: 'subject', value: 'Group/p1', match: 'exact' },
    ]);
    expect(ref({ 'subject:Patient': 'p1' })).toEqual([{ kind: 'lex', index: 'subject', value: 'Patient/p1', match: 'exact' }]);
    expect(ref({ subject: 'https://x.example/fhir/Patient/p1/_history/2' })).toEqual([
      { kind: 'lex', index: 'subject', value: 'Patient/p1', match: 'exact' },
    ]);
    expect(ref({ 'subject:Group': 'Patient/p1' })).toEqual([]);
  });

  it('turns date prefixes into score ranges over the value spans', () => {
    const d = day('2024-03-01');
    const alternatives = (date: string) => planSearch(careTeam, { date }).clauses[0]?.alternatives;
    expect(alternatives('2024-03-01')).toEqual([
      [
        { kind: 'score', index: 'date:lo', min: d.lo, max: d.hi },
        { kind: 'score', index: 'date:hi', min: d.lo, max: d.hi },
      ],
    ]);
    expect(alternatives('gt2024-03-01')).toEqual([[{ kind: 'score', index: 'date:hi', min: d.hi, max: Infinity, minExclusive: true }]]);
    expect(alternatives('lt2024-03-01')).toEqual([[{ kind: 'score', index: 'date:lo', min: -Infinity, max: d.lo, maxExclusive: true }]]);
    expect(alternatives('ge2024-03-01')).toEqual([[{ kind: 'score', index: 'date:hi', min: d.lo, max: Infinity }]]);
    expect(alternatives('le2024-03-01')).toEqual([[{ kind: 'score', index: 'date:lo', min: -Infinity, max: d.hi }]]);
  });

  it('adds _id and _lastUpdated to every type', () => {
    const plan = planSearch(careTeam, { _id: 'a,b', _lastUpdated: 'ge2024' });
    expect(plan.clauses[0]?.alternatives).toEqual([[{ kind: 'id', id: 'a' }], [{ kind: 'id', id: 'b' }]]);
    expect(plan.clauses[1]?.alternatives[0]?.[0]).toMatchObject({ kind: 'score', index: '_lastUpdated:hi' });
  });

  it('ignores empty values, _format and _pretty', () => {
    expect(planSearch(careTeam, { name: '', category: ', ', _format: 'json', _pretty: 'true' }).clauses).toEqual([]);
  });

  it('reads a URLSearchParams query the same way as an Express one', () => {
    const fromUrl = planSearch(careTeam, new URL('http://x/CareTeam?category=a&category=b&_count=5').searchParams);
    expect(fromUrl).toEqual(planSearch(careTeam, { category: ['a', 'b'], _count: '5' }));
  });
});

describe('planSearch: paging and totals', () => {
  it('defaults to 50 results from offset 0 with a total', () => {
    expect(planSearch(careTeam, {})).toEqual({ clauses: [], count: 50, offset: 0, total: true, summaryCount: false });
  });

  it('takes _count (capped at 1000), _offset and _total=none', () => {
    expect(planSearch(careTeam, { _count: '0', _offset: '20', _total: 'none' })).toMatchObject({ count: 0, offset: 20, total: false });
    expect(planSearch(careTeam, { _count: '5000' }).count).toBe(1000);
    expect(planSearch(careTeam, { _total: 'accurate' }).total).toBe(true);
    expect(planSearch(careTeam, { _total: 'estimate' }).total).toBe(true);
  });

  it('takes _summary=count as the total only: no page, counted even with _total=none', () => {
    expect(planSearch(careTeam, { _summary: 'count', _count: '20', _offset: '5', _total: 'none' })).toMatchObject({
      count: 0,
      offset: 0,
      total: true,
      summaryCount: true,
    });
    expect(planSearch(careTeam, { _summary: 'false' })).toMatchObject({ count: 50, summaryCount: false });
  });

  it('answers 400 for a _summary it does not serve', () => {
    expect(badRequestText(() => planSearch(careTeam, { _summary: 'true' }))).toContain('_summary');
    expect(badRequestText(() => planSearch(careTeam, { _summary: 'text' }))).toContain('_summary');
  });

  it('answers 400 for paging values that are not non-negative integers', () => {
    expect(badRequestText(() => planSearch(careTeam, { _count: '-1' }))).toContain('_count');
    expect(badRequestText(() => planSearch(careTeam, { _offset: 'ten' }))).toContain('_offset');
    expect(badRequestText(() => planSearch(careTeam, { _total: 'some' }))).toContain('_total');
  });
});

describe('planSearch: refusals', () => {
  it('answers 400 naming an unknown, chained or unsupported parameter', () => {
    expect(badRequestText(() => planSearch(careTeam, { colour: 'red' }))).toContain("'colour'");
    expect(badRequestText(() => planSearch(careTeam, { 'subject.name': 'x' }))).toContain("'subject.name'");
    expect(badRequestText(() => planSearch(careTeam, { _sort: 'date' }))).toContain("'_sort=date' is not supported on CareTeam search here: results come in _id order");
  });

  it('honours _sort=_id, the order matches come in, and -_id, its reverse, and refuses every other order (two keys, given twice)', () => {
    expect(planSearch(careTeam, { _sort: '_id', _count: '5' })).toMatchObject({ clauses: [], count: 5 });
    expect(planSearch(careTeam, { _sort: '_id' }).reversed).toBeUndefined();
    expect(planSearch(careTeam, { _sort: '-_id', _count: '5' })).toMatchObject({ clauses: [], count: 5, reversed: true });
    expect(inPlanOrder(planSearch(careTeam, { _sort: '-_id' }), ['a', 'b', 'c'])).toEqual(['c', 'b', 'a']);
    for (const sort of ['_id,date', '-_id,_id', '', '-date']) {
      expect(badRequestText(() => planSearch(careTeam, { _sort: sort }))).toContain('results come in _id order, which _sort=_id asks for, or in the reverse, _sort=-_id');
    }
    expect(badRequestText(() => planSearch(careTeam, new URLSearchParams('_sort=_id&_sort=_id')))).toContain('given more than once');
  });

  it('answers 400 for modifiers it does not support', () => {
    expect(badRequestText(() => planSearch(careTeam, { 'name:contains': 'x' }))).toContain(':contains');
    expect(badRequestText(() => planSearch(careTeam, { 'category:not': 'x' }))).toContain(':not');
    expect(badRequestText(() => planSearch(careTeam, { 'subject:identifier': 'x' }))).toContain(':identifier');
  });

  it('answers 400 for values the parameter type cannot read', () => {
    expect(badRequestText(() => planSearch(careTeam, { date: 'last tuesday' }))).toContain('date');
    expect(badRequestText(() => planSearch(careTeam, { date: 'ap2024' }))).toContain("'ap'");
    expect(badRequestText(() => planSearch(careTeam, { subject: 'not/a reference' }))).toContain('subject');
    expect(badRequestText(() => planSearch(careTeam, { category: { nested: 'object' } }))).toContain('category');
  });
});

describe('matchingIds', () => {
  const plan = (query: Record<string, string | string[]>): SearchPlan => planSearch(careTeam, query);

  it('ANDs clauses, ORs alternatives and returns ids in stable order', () => {
    const p = plan({ category: 'a,b', name: 'x' });
    expect(planRanges(p)).toHaveLength(3);
    expect(matchingIds(p, [['Ca\x1fz', 'Ca\x1fm'], ['Cb\x1fa'], ['x\x1fa', 'x\x1fz', 'xy\x1fq']])).toEqual(['a', 'z']);
  });

  it('requires both ends of one date value to match for eq, not one end from each of two values', () => {
    const p = plan({ date: '2024-03-01' });
    // r1's value 0 lies within the day; r2 has a start (value 0) and an end (value 1) in it from different values.
    expect(matchingIds(p, [['r1\x1f0', 'r2\x1f0'], ['r1\x1f0', 'r2\x1f1']])).toEqual(['r1']);
  });

  it('reads id hits as ids', () => {
    expect(matchingIds(plan({ _id: 'b,a' }), [['b'], []])).toEqual(['b']);
  });
});

describe('Redis bounds', () => {
  it('brackets exact lexical matches by the separator and prefixes by a 0xff byte', () => {
    const exact: Extract<IndexRange, { kind: 'lex' }> = { kind: 'lex', index: 'n', value: 'ab', match: 'exact' };
    expect(lexBounds(exact)).toEqual(['[ab\x1f', '(ab\x20']);
    const [min, max] = lexBounds({ ...exact, match: 'prefix' });
    expect(min).toBe('[ab');
    expect(max).toEqual(Buffer.from([0x28, 0x61, 0x62, 0xff]));
  });

  it('writes infinite and exclusive score bounds as Redis expects', () => {
    expect(scoreBounds({ kind: 'score', index: 'd:hi', min: 5, max: Infinity, minExclusive: true })).toEqual(['(5', '+inf']);
    expect(scoreBounds({ kind: 'score', index: 'd:lo', min: -Infinity, max: 7, maxExclusive: true })).toEqual(['-inf', '(7']);
  });
});
