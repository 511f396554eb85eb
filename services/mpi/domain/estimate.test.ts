import { Random } from '../../../fixtures/generators/random.js';
import { compare, matchProbability } from './engine.js';
import { EstimationRefused, estimateMatchingModel, showsSharedHomes, termFrequencyTables, type LabelledPair } from './estimate.js';
import { toFeatures, type MatchFeatures } from './features.js';
import { assertValidModel, estimateModel, levelWeight, type MatchModel, type RecordPair } from './model.js';
import type { DemographicRecord } from './record.js';

/** Deterministic PRNG for the test populations. */
function prng(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state * 1103515245 + 12345) % 2147483648;
    return state / 2147483648;
  };
}

/**
 * Pairs whose levels are drawn from known m/u (given, family name, birth date each exact or
 * different) for a known share of matches: EM must recover those numbers.
 */
function knownPairs(count: number, share: number, m: readonly number[], u: readonly number[]): RecordPair[] {
  const random = prng(11);
  const pairs: RecordPair[] = [];
  for (let i = 0; i < count; i++) {
    const same = random() < share;
    const agree = [0, 1, 2].map((f) => random() < (same ? m[f]! : u[f]!));
    const a = toFeatures({ id: `a${i}`, given: ['Anna'], family: 'Smith', birthDate: '1980-01-01' });
    const b = toFeatures({
      id: `b${i}`,
      given: [agree[0] ? 'Anna' : 'Zygmunt'],
      family: agree[1] ? 'Smith' : 'Okonkwo',
      birthDate: agree[2] ? '1980-01-01' : '1955-07-23',
    });
    pairs.push([a, b]);
  }
  return pairs;
}

describe('EM on a small data set of known weights', () => {
  const m = [0.9, 0.8, 0.95];
  const u = [0.1, 0.05, 0.02];
  const model = estimateModel(knownPairs(20_000, 0.3, m, u), { fields: ['given', 'family', 'birthDate'], tolerance: 1e-9 });

  it('converges to the share of matches and the m and u the pairs were drawn from', () => {
    expect(model.estimation!.matchShare!).toBeCloseTo(0.3, 1);
    const fields = [model.fields.given!, model.fields.family!, model.fields.birthDate!];
    fields.forEach((levels, f) => {
      expect(levels.exact!.m).toBeGreaterThan(m[f]! - 0.02);
      expect(levels.exact!.m).toBeLessThan(m[f]! + 0.02);
      expect(levels.exact!.u).toBeGreaterThan(u[f]! - 0.02);
      expect(levels.exact!.u).toBeLessThan(u[f]! + 0.02);
    });
  });

  it('gives each agreement the weight log2(m/u) of the truth, within a third of a bit', () => {
    const fields = [model.fields.given!, model.fields.family!, model.fields.birthDate!];
    fields.forEach((levels, f) => expect(Math.abs(levelWeight(levels.exact!) - Math.log2(m[f]! / u[f]!))).toBeLessThan(0.35));
    expect(model.estimation!.iterations).toBeLessThan(200);
  });

  it('counts reviewer-labelled pairs by their known class', () => {
    const pairs = knownPairs(2_000, 0.3, m, u);
    // 500 decided pairs of one person that disagree on the family name: m(family different) must rise.
    const labelled = Array.from({ length: 500 }, (_, i) => {
      const a = toFeatures({ id: `la${i}`, given: ['Anna'], family: 'Smith', birthDate: '1980-01-01' });
      const b = toFeatures({ id: `lb${i}`, given: ['Anna'], family: 'Okonkwo', birthDate: '1980-01-01' });
      return [a, b, true] as const;
    });
    const without = estimateModel(pairs, { fields: ['given', 'family', 'birthDate'] });
    const withLabels = estimateModel(pairs, { fields: ['given', 'family', 'birthDate'], labelledPairs: labelled });
    expect(withLabels.fields.family!.different!.m).toBeGreaterThan(without.fields.family!.different!.m + 0.2);
    expect(withLabels.estimation!.labelledPairs).toBe(500);
  });
});

/**
 * Pairs whose birth dates compare exact, `different` (the day wrong) or `apart` (another year and
 * day: no single slip) with known probabilities for matches and non-matches, names exact or
 * different as in `knownPairs`: EM must recover the birth-date levels' m and u.
 */
function knownDatePairs(count: number, share: number, mDate: readonly number[], uDate: readonly number[]): RecordPair[] {
  const random = prng(23);
  const dates = ['1980-06-14', '1980-06-27', '1953-11-02'];
  const draw = (p: readonly number[]) => {
    const x = random();
    return x < p[0]! ? 0 : x < p[0]! + p[1]! ? 1 : 2;
  };
  const pairs: RecordPair[] = [];
  for (let i = 0; i < count; i++) {
    const same = random() < share;
    const given = random() < (same ? 0.95 : 0.02);
    const family = random() < (same ? 0.9 : 0.02);
    const a = toFeatures({ id: `a${i}`, given: ['Anna'], family: 'Smith', birthDate: dates[0] });
    const b = toFeatures({ id: `b${i}`, given: [given ? 'Anna' : 'Zygmunt'], family: family ? 'Smith' : 'Okonkwo', birthDate: dates[draw(same ? mDate : uDate)] });
    pairs.push([a, b]);
  }
  return pairs;
}

describe('EM learns the birth-date levels `different` and `apart` on a small data set of known weights', () => {
  // Matches: 2 % of dates apart (two slips in one date); non-matches: nearly all apart.
  const mDate = [0.9, 0.08, 0.02];
  const uDate = [0.02, 0.05, 0.93];
  const model = estimateModel(knownDatePairs(20_000, 0.3, mDate, uDate), { fields: ['given', 'family', 'birthDate'], tolerance: 1e-9 });

  it('converges to the m and u of each level the pairs were drawn from', () => {
    const levels = model.fields.birthDate!;
    (['exact', 'different', 'apart'] as const).forEach((level, l) => {
      expect(Math.abs(levels[level]!.m - mDate[l]!)).toBeLessThan(0.01);
      expect(Math.abs(levels[level]!.u - uDate[l]!)).toBeLessThan(0.01);
    });
  });

  it('gives birth dates apart the weight log2(m/u) of the truth, within a third of a bit, and far below one part wrong', () => {
    const levels = model.fields.birthDate!;
    expect(Math.abs(levelWeight(levels.apart!) - Math.log2(mDate[2]! / uDate[2]!))).toBeLessThan(0.35);
    expect(Math.abs(levelWeight(levels.different!) - Math.log2(mDate[1]! / uDate[1]!))).toBeLessThan(0.35);
    expect(levelWeight(levels.apart!)).toBeLessThan(levelWeight(levels.different!) - 4);
  });
});

const FORENAMES = [
  'liam', 'morag', 'shona', 'iain', 'robert', 'agnes', 'james', 'kirsty', 'david', 'fiona', 'ewan', 'catriona', 'alasdair', 'eilidh', 'callum', 'isla',
  'mhairi', 'lachlan', 'rhona', 'torquil', 'ailsa', 'murdo', 'seonaid', 'angus', 'kenna', 'dougal', 'bridget', 'ruaridh', 'lorna', 'hamish', 'effie', 'finlay',
];
const SURNAME_STARTS = ['mac', 'fin', 'dun', 'kil', 'strath', 'glen', 'bal', 'inver', 'craig', 'ard'];
const SURNAME_ENDS = ['leod', 'lay', 'can', 'patrick', 'more', 'ross', 'don', 'ness', 'avon', 'bain'];
const STREETS = ['easter road', 'leith walk', 'byres road', 'high street', 'dalry road', 'morningside road', 'gorgie road'];

/**
 * A small partnership: people recorded by a health board and, for most, by a second agency
 * that often holds an older address (people move: postcode disagreement is common for one
 * person across agencies), sometimes without CHI. Surname "smith" is common, "auchinachie" rare.
 */
function partnership(people: number, seed = 5): { records: MatchFeatures[]; personOf: Map<string, number> } {
  const random = prng(seed);
  const pick = <T,>(list: readonly T[]): T => list[Math.floor(random() * list.length)]!;
  const records: MatchFeatures[] = [];
  const personOf = new Map<string, number>();
  const postcode = () => `EH${1 + Math.floor(random() * 17)} ${1 + Math.floor(random() * 9)}${pick(['AB', 'QZ', 'XY', 'HN', 'DL', 'PR'])}`;
  for (let p = 0; p < people; p++) {
    const family = random() < 0.2 ? 'smith' : p % 97 === 0 ? 'auchinachie' : pick(SURNAME_STARTS) + pick(SURNAME_ENDS);
    const base: DemographicRecord = {
      id: `nhs-${p}`,
      agency: 'nhs',
      chi: String(1_000_000_000 + p),
      given: [pick(FORENAMES)],
      family,
      birthDate: `${1940 + Math.floor(random() * 70)}-${String(1 + Math.floor(random() * 12)).padStart(2, '0')}-${String(1 + Math.floor(random() * 28)).padStart(2, '0')}`,
      gender: random() < 0.5 ? 'male' : 'female',
      postcode: postcode(),
      addressLine: `${1 + Math.floor(random() * 200)} ${pick(STREETS)}`,
    };
    records.push(toFeatures(base));
    personOf.set(base.id, p);
    if (random() < 0.7) {
      const moved = random() < 0.4;
      const copy: DemographicRecord = {
        ...base,
        id: `council-${p}`,
        agency: 'council',
        ...(random() < 0.5 ? { chi: undefined } : {}),
        ...(moved ? { postcode: postcode(), addressLine: `${1 + Math.floor(random() * 200)} ${pick(STREETS)}` } : {}),
        ...(random() < 0.1 ? { given: [base.given[0]!.slice(0, -1) + 'e'] } : {}),
      };
      records.push(toFeatures(copy));
      personOf.set(copy.id, p);
    }
  }
  return { records, personOf };
}

describe('estimateMatchingModel (the partnership’s own model)', () => {
  const { records, personOf } = partnership(1_500);
  const { model, report } = estimateMatchingModel(records, { randomPairs: 100_000, source: 'test partnership', date: '2026-12-06' });

  it('is a valid model that says where it came from', () => {
    expect(() => assertValidModel(model)).not.toThrow();
    expect(model.estimation).toMatchObject({ method: 'em', source: 'test partnership', date: '2026-12-06', records: records.length, linkProbability: 0.99, reviewProbability: 0.2 });
    expect(report.records).toBe(records.length);
    expect(report.sessions.map((s) => s.name)).toEqual(['same birth date', 'same forename and family name', 'same postcode']);
  });

  it('learns from the data that people move: a different postcode is weak evidence against, not a veto', () => {
    // 40 % of second records have moved (to another EH postcode: level "area"). EM over every field at once
    // finds m ≈ 0 for that level (its latent class becomes "same address"); estimated here it is sizeable.
    expect(model.fields.postcode!.area!.m).toBeGreaterThan(0.15);
    expect(levelWeight(model.fields.postcode!.area!)).toBeGreaterThan(-3);
    expect(levelWeight(model.fields.address!.different!)).toBeGreaterThan(-3);
  });

  it('scores postcode, address, town and phone one by one where nobody shares a home (people recorded one by one)', () => {
    expect(showsSharedHomes({ ...model, fields: { residence: { address: { m: 0.5, u: 1e-6 } } } })).toBe(false);
    expect(model.fields.residence).toBeUndefined();
    expect(model.fields.postcode).toBeDefined();
  });

  it('links identical name, birth date and sex with a different postcode and CHI on one side only', () => {
    const nhs = toFeatures({ id: 'x1', agency: 'nhs', chi: '0101901234', given: ['Liam'], family: 'Brown', birthDate: '2003-04-19', gender: 'male', postcode: 'EH6 8QZ', addressLine: '12 Leith Walk' });
    const police = toFeatures({ id: 'x2', agency: 'police', given: ['Liam'], family: 'Brown', birthDate: '2003-04-19', gender: 'male', postcode: 'EH11 2AB', addressLine: '3 Gorgie Road' });
    expect(compare(police, nhs, model).outcome).toBe('link');
  });

  it('weighs agreement on a common family name less than on a rare one (term frequencies)', () => {
    const pair = (family: string) => [
      toFeatures({ id: 'p1', given: ['Isla'], family, birthDate: '1990-02-03' }),
      toFeatures({ id: 'p2', given: ['Isla'], family, birthDate: '1990-02-03' }),
    ] as const;
    const familyWeight = (family: string) => compare(...pair(family), model).fields.find((f) => f.field === 'family')!;
    const smith = familyWeight('Smith');
    const rare = familyWeight('Auchinachie');
    expect(smith.termFrequency!).toBeLessThan(0);
    expect(rare.weight).toBeGreaterThan(smith.weight + 2);
  });

  it('weighs agreement on a postcode many records share less than on one held by a single record (term frequencies)', () => {
    // Nobody shares a home here, so the model scores the postcode on its own and lists its values.
    expect(model.termFrequencies?.postcode).toBeDefined();
    const holders = new Map<string, number>();
    for (const r of records) if (r.pc) holders.set(r.pc, (holders.get(r.pc) ?? 0) + 1);
    const byShare = [...holders].sort((a, b) => b[1] - a[1]);
    const [commonest, held] = byShare[0]!;
    const [single] = byShare.find(([, n]) => n === 1)!;
    expect(held).toBeGreaterThan(3);
    // The same pair of records but for where they live: only the postcode's term frequency tells them apart.
    const pairAt = (postcode: string) => {
      const r = toFeatures({ id: 'q1', given: ['Isla'], family: 'Brodie', birthDate: '1990-02-03', gender: 'female', postcode });
      return compare({ ...r, id: 'q2' }, r, model);
    };
    const [common, rare] = [pairAt(commonest), pairAt(single)];
    const postcode = (c: ReturnType<typeof pairAt>) => c.fields.find((f) => f.field === 'postcode')!;
    expect(postcode(common).level).toBe(postcode(rare).level);
    expect(postcode(common).termFrequency!).toBeLessThan(0);
    expect(postcode(rare).weight).toBeGreaterThan(postcode(common).weight);
    expect(rare.score).toBeGreaterThan(common.score);
  });

  it('sets the link threshold where the posterior probability is the target, and reports what it predicts there', () => {
    expect(matchProbability(model.thresholds.upper, model)).toBeCloseTo(0.99, 3);
    expect(matchProbability(model.thresholds.lower, model)).toBeCloseTo(0.2, 3);
    expect(report.thresholds).toMatchObject({ upper: model.thresholds.upper, lower: model.thresholds.lower, linkProbability: 0.99, reviewProbability: 0.2 });
    expect(report.expected.precision).toBeGreaterThan(0.95);
    expect(report.expected.recall).toBeGreaterThan(0.5);
    expect(report.expected.reviewShareOfRecords).toBeLessThan(0.2);
  });

  it('links the records of one person and keeps different people apart, as predicted', () => {
    let truePairs = 0;
    let linked = 0;
    let wrong = 0;
    const byPerson = new Map<number, MatchFeatures[]>();
    for (const r of records) byPerson.set(personOf.get(r.id)!, [...(byPerson.get(personOf.get(r.id)!) ?? []), r]);
    for (const [, group] of byPerson) {
      if (group.length < 2) continue;
      truePairs++;
      if (compare(group[1]!, group[0]!, model).outcome === 'link') linked++;
    }
    for (let i = 0; i + 1 < 400; i += 2) {
      const [a, b] = [records[i]!, records[i + 1]!];
      if (personOf.get(a.id) !== personOf.get(b.id) && compare(a, b, model).outcome === 'link') wrong++;
    }
    expect(linked / truePairs).toBeGreaterThan(0.9);
    expect(wrong).toBe(0);
  });

  it('moves the thresholds with reviewer decisions: reviewers linking pairs the model doubted lower the link threshold', () => {
    // Pairs of one person the model put in the band (different postcode and forename typo): all linked by reviewers.
    const labelled: LabelledPair[] = [];
    for (let i = 0; i < 60; i++) {
      const a = toFeatures({ id: `r${i}a`, given: ['Callum'], family: 'Ross', birthDate: `19${50 + (i % 40)}-03-0${1 + (i % 9)}`, postcode: 'EH3 9AB' });
      const b = toFeatures({ id: `r${i}b`, given: ['Calum'], family: 'Ross', birthDate: `19${50 + (i % 40)}-03-0${1 + (i % 9)}`, postcode: 'EH12 5XY' });
      labelled.push({ a, b, same: true });
    }
    const refined = estimateMatchingModel(records, { randomPairs: 100_000, labelledPairs: labelled });
    expect(refined.report.labelled).toMatchObject({ pairs: 60, links: 60 });
    expect(refined.report.labelled.calibrationBits).toBeGreaterThan(0);
    expect(refined.model.thresholds.upper).toBeLessThan(model.thresholds.upper);
    expect(refined.model.estimation!.labelledPairs).toBe(60);
  });
});

/**
 * Records as FEBRL's generator makes them: no sex, no CHI, several duplicates of each
 * original, and in a share of duplicates one name replaced outright by another.
 */
/**
 * People recorded one by one (no households, no sex or CHI), as FEBRL: up to three duplicates each,
 * `replacedShare` of them with one name replaced, `datesApartShare` with the birth date corrupted in
 * two parts at once (another year and another day: no single slip gives that).
 */
function withoutSexOrChi(people: number, replacedShare: number, seed = 9, datesApartShare = 0): { records: MatchFeatures[]; personOf: Map<string, number> } {
  // The generators' PRNG: successive draws independent enough for several fields of one record.
  const rng = new Random(seed);
  const random = () => rng.next();
  const pick = <T,>(list: readonly T[]): T => list[Math.floor(random() * list.length)]!;
  const records: MatchFeatures[] = [];
  const personOf = new Map<string, number>();
  const surname = () => pick(SURNAME_STARTS) + pick(SURNAME_ENDS);
  for (let p = 0; p < people; p++) {
    const original: DemographicRecord = {
      id: `org-${p}`,
      given: [pick(FORENAMES)],
      family: surname(),
      birthDate: `${1930 + Math.floor(random() * 80)}-${String(1 + Math.floor(random() * 12)).padStart(2, '0')}-${String(1 + Math.floor(random() * 28)).padStart(2, '0')}`,
      // About four people per postcode, as in FEBRL (a session on the postcode then sees strangers too).
      postcode: String(2000 + Math.floor(random() * 400)),
      addressLine: `${1 + Math.floor(random() * 200)} ${pick(STREETS)}`,
    };
    records.push(toFeatures(original));
    personOf.set(original.id, p);
    const duplicates = Math.floor(random() * 4);
    for (let d = 0; d < duplicates; d++) {
      const replace = random();
      const copy: DemographicRecord = {
        ...original,
        id: `dup-${p}-${d}`,
        ...(replace < replacedShare / 2 ? { given: [pick(FORENAMES)] } : {}),
        ...(replace >= replacedShare / 2 && replace < replacedShare ? { family: surname() } : {}),
        ...(datesApartShare > 0 && random() < datesApartShare ? { birthDate: twoPartsChanged(original.birthDate!, random) } : {}),
      };
      records.push(toFeatures(copy));
      personOf.set(copy.id, p);
    }
  }
  return { records, personOf };
}

/** A YYYY-MM-DD date 2-20 years away and on another day (day 2-28: never an estimate's 1 January). */
function twoPartsChanged(date: string, random: () => number): string {
  const [y, m, d] = date.split('-').map(Number) as [number, number, number];
  const year = y + (random() < 0.5 ? -1 : 1) * (2 + Math.floor(random() * 19));
  const day = 2 + ((d - 2 + 1 + Math.floor(random() * 26)) % 27);
  return `${year}-${String(m).padStart(2, '0')}-${String(day).padStart(2, '0')}`;
}

describe('estimateMatchingModel learns what birth dates apart are worth from the data', () => {
  it('where people are recorded one by one and a tenth of duplicates have dates corrupted in two parts (FEBRL): weak evidence', () => {
    const { records } = withoutSexOrChi(1_500, 0, 9, 0.1);
    const { model } = estimateMatchingModel(records, { randomPairs: 100_000 });
    const dates = model.fields.birthDate!;
    expect(dates.apart!.m).toBeGreaterThan(0.03);
    expect(dates.apart!.m).toBeLessThan(0.2);
    expect(levelWeight(dates.apart!)).toBeGreaterThan(-6);
  });

  it('where people share homes and sons are named after their fathers: strong evidence, its m read away from home', () => {
    const { model } = estimateMatchingModel(households(700), { randomPairs: 100_000 });
    const dates = model.fields.birthDate!;
    expect(dates.apart!.m).toBeLessThan(0.0001);
    expect(levelWeight(dates.apart!)).toBeLessThan(-15);
    const home = { family: 'Glenross', gender: 'male' as const, postcode: 'EH6 8QZ', addressLine: '14 Easter Road', phone: '0131 496 0123' };
    const father = toFeatures({ id: 'f', agency: 'nhs', given: ['James'], birthDate: '1961-05-17', ...home });
    const son = toFeatures({ id: 's', agency: 'council', given: ['James'], birthDate: '1992-11-02', ...home });
    expect(compare(son, father, model)).toMatchObject({ outcome: 'new' });
    expect(compare(son, father, model).rule).toBeUndefined();
  });
});

describe('estimateMatchingModel on data without sex or CHI (identifiability)', () => {
  // 20 % of duplicates have one name replaced: half the forename, half the family name.
  const { records } = withoutSexOrChi(1_500, 0.2);
  const { model } = estimateMatchingModel(records, { randomPairs: 100_000 });

  it('estimates how often one person’s forename or family name differs outright, instead of treating it as a veto', () => {
    // Over pairs born the same day only the two names would be active, and EM explains every
    // name disagreement as a non-match (m → 0); the names are estimated where three fields vote.
    expect(model.fields.given!.different!.m).toBeGreaterThan(0.03);
    expect(model.fields.given!.different!.m).toBeLessThan(0.3);
    expect(model.fields.family!.different!.m).toBeGreaterThan(0.03);
    expect(model.fields.family!.different!.m).toBeLessThan(0.3);
  });

  it('links a duplicate whose forename was replaced when family name, birth date and address agree', () => {
    const a = toFeatures({ id: 'x1', given: ['Morag'], family: 'Glenross', birthDate: '1961-05-17', postcode: '4321', addressLine: '12 Leith Walk' });
    const b = toFeatures({ id: 'x2', given: ['Hamish'], family: 'Glenross', birthDate: '1961-05-17', postcode: '4321', addressLine: '12 Leith Walk' });
    expect(compare(b, a, model).outcome).toBe('link');
  });
});

describe('estimateMatchingModel refuses what it cannot estimate from', () => {
  it('refuses an empty or tiny index, saying how many records it has and needs', () => {
    expect(() => estimateMatchingModel([])).toThrow(EstimationRefused);
    expect(() => estimateMatchingModel([])).toThrow(/holds 0 record\(s\).*at least 1000.*model in use stays/);
    const { records } = partnership(100);
    expect(() => estimateMatchingModel(records)).toThrow(/holds \d+ record\(s\)/);
  });

  it('refuses an index in which nobody is recorded twice', () => {
    const random = prng(3);
    const strangers = Array.from({ length: 1_200 }, (_, i) =>
      toFeatures({ id: `s${i}`, given: [`given${i}`], family: `family${i}`, birthDate: `${1930 + Math.floor(random() * 90)}-0${1 + (i % 9)}-1${i % 10}` }),
    );
    expect(() => estimateMatchingModel(strangers, { randomPairs: 10_000 })).toThrow(EstimationRefused);
  });

  it('refuses target probabilities that are not 0 < review ≤ link < 1', () => {
    const { records } = partnership(700);
    expect(() => estimateMatchingModel(records, { linkProbability: 1 })).toThrow(/Target probabilities/);
    expect(() => estimateMatchingModel(records, { linkProbability: 0.9, reviewProbability: 0.95 })).toThrow(/Target probabilities/);
  });
});

describe('term-frequency tables', () => {
  it('list values seen at least twice and give every other value the share of the most common one left out', () => {
    const records = ['smith', 'smith', 'smith', 'brown', 'brown', 'ross', 'reid'].map((f, i) => toFeatures({ id: String(i), given: ['Ann'], family: f }));
    const { tables, summary } = termFrequencyTables(records, 1);
    expect(tables.family).toEqual({ values: { smith: Number((3 / 7).toPrecision(6)) }, floor: Number((2 / 7).toPrecision(6)) });
    expect(summary.family).toEqual({ distinct: 4, listed: 1 });
    expect(termFrequencyTables(records, 10).tables.family!.floor).toBeCloseTo(1 / 7, 5);
  });

  it('are refused at start-up when a share is not a probability, naming the value', () => {
    const model: MatchModel = {
      version: 1,
      fields: { family: { exact: { m: 0.9, u: 0.01 } } },
      thresholds: { upper: 5, lower: 1 },
      termFrequencies: { family: { values: { smith: 1.5 }, floor: 0 } },
    };
    expect(() => assertValidModel(model)).toThrow(/termFrequencies.family.floor[\s\S]*termFrequencies.family.values.smith/);
  });
});

/**
 * A register of households: two to four people at one address sharing the family name, with
 * different forenames and birth dates, one in eight families with a son named after his father;
 * each person recorded by one to three agencies (the first two with the CHI), 30 % of second records at an
 * older address.
 */
function households(count: number) {
  const random = prng(17);
  const pick = <T,>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!;
  const records: MatchFeatures[] = [];
  const date = () => `${1940 + Math.floor(random() * 75)}-${String(1 + Math.floor(random() * 12)).padStart(2, '0')}-${String(1 + Math.floor(random() * 28)).padStart(2, '0')}`;
  for (let h = 0; h < count; h++) {
    const family = pick(SURNAME_STARTS) + pick(SURNAME_ENDS);
    const postcode = `EH${1 + Math.floor(random() * 17)} ${1 + Math.floor(random() * 9)}${pick(['AB', 'QZ', 'XY', 'HN', 'DL', 'PR'])}`;
    const addressLine = `${1 + Math.floor(random() * 200)} ${pick(STREETS)}`;
    const phone = `0131 ${100 + Math.floor(random() * 900)} ${1000 + Math.floor(random() * 9000)}`;
    const size = 2 + Math.floor(random() * 3);
    const forenames = Array.from({ length: size }, (_, i) => FORENAMES[(h * 7 + i * 5) % FORENAMES.length]!);
    // A son named after his father: same forename, same sex.
    const namesake = random() < 0.125;
    if (namesake) forenames[1] = forenames[0]!;
    forenames.forEach((given, i) => {
      const male = i % 2 === 0 || (namesake && i === 1);
      const person = { given: [given], family, birthDate: date(), gender: male ? ('male' as const) : ('female' as const), postcode, addressLine, phone };
      const copies = 1 + Math.floor(random() * 3);
      for (let c = 0; c < copies; c++) {
        const moved = c > 0 && random() < 0.3;
        records.push(
          toFeatures({
            id: `h${h}-p${i}-r${c}`,
            agency: `agency-${c}`,
            ...person,
            // The first two agencies (a health board, a GP) record the person's CHI.
            ...(c < 2 ? { chi: String(2_000_000_000 + h * 10 + i) } : {}),
            ...(moved ? { postcode: `KY${1 + Math.floor(random() * 16)} ${1 + Math.floor(random() * 9)}AB`, addressLine: `${1 + Math.floor(random() * 90)} High Street`, phone: undefined } : {}),
          }),
        );
      }
    });
  }
  return records;
}

describe('estimateMatchingModel where people share homes', () => {
  const records = households(700);
  const { model } = estimateMatchingModel(records, { randomPairs: 100_000 });

  it('scores the home once: postcode, address, town and phone only through the residence comparison', () => {
    expect(showsSharedHomes(model)).toBe(true);
    expect(Object.keys(model.fields).sort()).toEqual(['birthDate', 'chi', 'family', 'given', 'residence', 'sex']);
    expect(model.termFrequencies?.postcode).toBeUndefined();
  });

  it('does not link a son named after his father at the same address on the home and the names alone', () => {
    const home = { family: 'Glenross', gender: 'male' as const, postcode: 'EH6 8QZ', addressLine: '14 Easter Road', phone: '0131 496 0123' };
    const father = toFeatures({ id: 'f', agency: 'nhs', given: ['James'], birthDate: '1961-05-17', ...home });
    const son = toFeatures({ id: 's', agency: 'council', given: ['James'], birthDate: '1992-11-02', ...home });
    expect(compare(son, father, model).outcome).not.toBe('link');
  });

  it('measures from the records how often different people at one address share their family name', () => {
    const atAddress = model.sharedHomeNames?.address;
    expect(atAddress).toBeDefined();
    // Every household of the register shares its family name: at one address, almost every pair of two people does.
    expect(atAddress!.family.exact!).toBeGreaterThan(0.8);
    expect(atAddress!.family.exact!).toBeGreaterThan(20 * model.fields.family!.exact!.u);
    expect(atAddress!.pairs).toBeGreaterThan(100);
  });

  it('weighs a family name shared at one address as the household evidence it is, and says so in the explanation', () => {
    const home = { family: 'Glenross', gender: 'male' as const, postcode: 'EH6 8QZ', addressLine: '14 Easter Road' };
    const father = toFeatures({ id: 'f', agency: 'nhs', given: ['James'], birthDate: '1961-05-17', ...home });
    const son = toFeatures({ id: 's', agency: 'council', given: ['James'], birthDate: '1992-11-02', ...home });
    const moved = toFeatures({ id: 'm', agency: 'council', given: ['James'], birthDate: '1992-11-02', ...home, postcode: 'KY1 2AB', addressLine: '3 High Street' });
    const atHome = compare(son, father, model).fields.find((f) => f.field === 'family')!;
    const apart = compare(moved, father, model).fields.find((f) => f.field === 'family')!;
    expect(atHome.sharedHome).toBeLessThan(0);
    expect(atHome.termFrequency).toBeUndefined();
    expect(atHome.weight).toBeLessThan(1);
    expect(apart.sharedHome).toBeUndefined();
    expect(apart.weight).toBeGreaterThan(4);
    const comparison = compare(son, father, model);
    expect(comparison.score).toBeCloseTo(comparison.fields.reduce((sum, f) => sum + f.weight, 0), 1);
  });

  it('still links one person recorded twice at home, the birth date telling them from a namesake', () => {
    const home = { family: 'Glenross', gender: 'male' as const, postcode: 'EH6 8QZ', addressLine: '14 Easter Road', birthDate: '1961-05-17' };
    const a = toFeatures({ id: 'a', agency: 'nhs', given: ['Robert'], ...home });
    const b = toFeatures({ id: 'b', agency: 'council', given: ['Robert'], ...home, addressLine: '14 Easter Rd' });
    expect(compare(a, b, model).outcome).toBe('link');
  });
});
