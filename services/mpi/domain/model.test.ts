import { decide, MatchIndex } from './engine.js';
import { estimateModelForLinkage, estimateModelForRecords } from './estimate.js';
import { toFeatures, type MatchFeatures } from './features.js';
import {
  nonMatchShare,
  assertValidModel,
  compileModel,
  estimateModel,
  estimateModelFromLabelled,
  estimateTwins,
  levelWeight,
  sampleCrossPairs,
  sampleRandomPairs,
  thresholdsFor,
  type MatchModel,
} from './model.js';
import type { DemographicRecord } from './record.js';

/** A small deterministic population: originals and, for half of them, a second agency's copy with a flaw. */
function population(size: number, seed = 7): { originals: MatchFeatures[]; copies: MatchFeatures[]; truth: Map<string, string> } {
  let state = seed;
  const random = () => {
    state = (state * 1103515245 + 12345) % 2147483648;
    return state / 2147483648;
  };
  const pick = <T,>(list: readonly T[]): T => list[Math.floor(random() * list.length)]!;
  const forenames = ['morag', 'shona', 'iain', 'robert', 'agnes', 'james', 'kirsty', 'david', 'fiona', 'ewan', 'catriona', 'alasdair'];
  const surnames = ['macleod', 'campbell', 'stewart', 'robertson', 'fraser', 'murray', 'paterson', 'ross', 'reid', 'grant'];
  const streets = ['easter road', 'leith walk', 'byres road', 'high street', 'dalry road', 'morningside road'];
  const districts = ['EH6', 'EH7', 'G12', 'KY1', 'FK8', 'IV2'];
  const originals: MatchFeatures[] = [];
  const copies: MatchFeatures[] = [];
  const truth = new Map<string, string>();
  for (let i = 0; i < size; i++) {
    const year = 1930 + Math.floor(random() * 90);
    const month = 1 + Math.floor(random() * 12);
    const day = 1 + Math.floor(random() * 28);
    const base: DemographicRecord = {
      id: `o${i}`,
      agency: 'nhs',
      given: [pick(forenames)],
      family: pick(surnames),
      birthDate: `${year}-${String(month).padStart(2, '0')}-${String(day).padStart(2, '0')}`,
      gender: random() < 0.5 ? 'male' : 'female',
      postcode: `${pick(districts)} ${1 + Math.floor(random() * 9)}${pick(['AB', 'QZ', 'XY', 'HN'])}`,
      addressLine: `${1 + Math.floor(random() * 200)} ${pick(streets)}`,
    };
    originals.push(toFeatures(base));
    truth.set(base.id, base.id);
    if (i % 2 === 0) {
      const flaw = i % 8;
      const copy: DemographicRecord = {
        ...base,
        id: `c${i}`,
        agency: 'council',
        ...(flaw === 0 ? { given: [base.given[0]!.slice(0, -1)] } : {}),
        ...(flaw === 2 ? { postcode: `${pick(districts)} 1AA`, addressLine: `9 ${pick(streets)}` } : {}),
        ...(flaw === 4 ? { birthDate: undefined } : {}),
        ...(flaw === 6 ? { family: base.family!.toUpperCase() } : {}),
      };
      copies.push(toFeatures(copy));
      truth.set(copy.id, base.id);
    }
  }
  return { originals, copies, truth };
}

describe('model basics', () => {
  it('weighs a level by log2(m/u), flooring zero probabilities', () => {
    expect(levelWeight({ m: 0.9, u: 0.01 })).toBeCloseTo(Math.log2(90), 10);
    expect(Number.isFinite(levelWeight({ m: 0, u: 0.5 }))).toBe(true);
  });

  it('sets thresholds from the prior: posterior odds = 2^score · prior odds', () => {
    const t = thresholdsFor(0.5, { linkProbability: 0.99, reviewProbability: 0.5 });
    expect(t.upper).toBeCloseTo(Math.log2(99), 2);
    expect(t.lower).toBeCloseTo(0, 2);
    expect(thresholdsFor(0.001).upper).toBeGreaterThan(t.upper);
  });

  it('rejects a malformed model with every problem listed', () => {
    const bad = {
      version: 2,
      fields: { nose: {}, given: { exact: { m: 2, u: 0.1 }, wobbly: { m: 0.1, u: 0.1 } } },
      thresholds: { upper: 1, lower: 5 },
    };
    expect(() => assertValidModel(bad)).toThrow(/version: must be 1[\s\S]*thresholds.lower: must not be above[\s\S]*fields.nose: unknown field[\s\S]*fields.given.exact.m: must be a probability strictly between 0 and 1[\s\S]*fields.given.wobbly: unknown level/);
    expect(() => assertValidModel(null)).toThrow(/JSON object/);
  });

  it('compiles a model once and leaves unused fields out of the score', () => {
    const model: MatchModel = { version: 1, fields: { given: { exact: { m: 0.9, u: 0.1 } } }, thresholds: { upper: 3, lower: 1 } };
    const compiled = compileModel(model);
    expect(compileModel(model)).toBe(compiled);
    expect(compiled.weights.filter((w) => w !== undefined)).toHaveLength(1);
  });
});

describe('estimateModel (EM, unlabelled)', () => {
  const { originals, copies, truth } = population(600);
  const all = [...originals, ...copies];
  const model = estimateModelForRecords(all, { randomPairs: 50_000, seed: 3 });

  it('learns that agreement is evidence for and disagreement evidence against', () => {
    for (const field of ['given', 'family', 'birthDate', 'postcode'] as const) {
      const levels = model.fields[field]!;
      expect(levelWeight(levels.exact!)).toBeGreaterThan(0);
      expect(levelWeight(levels.different!)).toBeLessThan(0);
    }
    expect(model.estimation).toMatchObject({ method: 'em' });
    expect(model.estimation!.pairs).toBeGreaterThan(0);
    expect(model.thresholds.upper).toBeGreaterThan(model.thresholds.lower);
    expect(() => assertValidModel(model)).not.toThrow();
  });

  it('estimates roughly the right number of matches among the candidate pairs', () => {
    const index = new MatchIndex(model);
    let candidatePairs = 0;
    let truePairs = 0;
    for (const f of all) {
      for (const c of index.candidates(f)) {
        candidatePairs++;
        if (truth.get(c.id) === truth.get(f.id)) truePairs++;
      }
      index.add(f);
    }
    expect(model.estimation!.matchShare!).toBeGreaterThan((0.7 * truePairs) / candidatePairs);
    expect(model.estimation!.matchShare!).toBeLessThan((1.3 * truePairs) / candidatePairs);
  });

  it('yields a model that links most copies to their originals and no copy to someone else', () => {
    const index = new MatchIndex(model);
    for (const o of originals) index.add(o);
    let right = 0;
    let wrong = 0;
    for (const c of copies) {
      const decision = index.match(c);
      if (decision.outcome !== 'link') continue;
      if (decision.best!.id === truth.get(c.id)) right++;
      else wrong++;
    }
    // A quarter of the copies lack a birth date: in a population this small, names alone do not settle it.
    expect(right / copies.length).toBeGreaterThanOrEqual(0.7);
    expect(wrong).toBe(0);
  });

  it('estimates a linkage model for two files', () => {
    const linkage = estimateModelForLinkage(originals, copies, { randomPairs: 20_000 });
    expect(levelWeight(linkage.fields.birthDate!.exact!)).toBeGreaterThan(5);
    expect(decide(copies[1]!, originals, linkage).best?.id).toBe(truth.get(copies[1]!.id));
  });

  it('refuses to estimate from no pairs', () => {
    expect(() => estimateModel([])).toThrow(/at least one/);
  });
});

describe('estimateModelFromLabelled', () => {
  it('counts levels in pairs of known truth', () => {
    const { originals, copies, truth } = population(200);
    const pairs: [MatchFeatures, MatchFeatures, boolean][] = [];
    copies.forEach((c, i) => {
      pairs.push([c, originals.find((o) => o.id === truth.get(c.id))!, true]);
      pairs.push([c, originals[(i * 7 + 3) % originals.length]!, false]);
    });
    const model = estimateModelFromLabelled(pairs, { source: 'test' });
    expect(model.estimation).toMatchObject({ method: 'labelled', pairs: pairs.length });
    expect(model.fields.birthDate!.exact!.m).toBeGreaterThan(0.7);
    expect(model.fields.birthDate!.exact!.u).toBeLessThan(0.1);
    expect(() => estimateModelFromLabelled(pairs.filter((p) => p[2]))).toThrow(/both/);
  });
});

describe('random pairs', () => {
  const records = population(50).originals;

  it('are reproducible from the seed and never pair a record with itself', () => {
    const a = [...sampleRandomPairs(records, 200, 9)].map(([x, y]) => `${x.id}|${y.id}`);
    const b = [...sampleRandomPairs(records, 200, 9)].map(([x, y]) => `${x.id}|${y.id}`);
    expect(a).toEqual(b);
    expect(a.every((p) => p.split('|')[0] !== p.split('|')[1])).toBe(true);
    expect([...sampleRandomPairs(records, 200, 10)].map(([x, y]) => `${x.id}|${y.id}`)).not.toEqual(a);
  });

  it('draw one record from each file for a linkage', () => {
    const left = records.slice(0, 10);
    const right = records.slice(10);
    for (const [x, y] of sampleCrossPairs(left, right, 50)) {
      expect(left).toContain(x);
      expect(right).toContain(y);
    }
    expect([...sampleRandomPairs(records.slice(0, 1), 5)]).toEqual([]);
  });
});

describe('estimateTwins', () => {
  const twin = (id: string, given: string, agency: string, gender: 'male' | 'female') =>
    toFeatures({ id, agency, given: [given], family: 'MacLeod', birthDate: '2012-05-01', gender });

  it('finds twins within one agency register and how their forenames and sexes compare', () => {
    const records = [
      twin('a', 'Morag', 'nhs', 'female'),
      twin('b', 'Hamish', 'nhs', 'male'),
      toFeatures({ id: 'c', agency: 'nhs', given: ['Iain'], family: 'Ross', birthDate: '1980-01-01' }),
      toFeatures({ id: 'd', agency: 'nhs', given: ['Fiona'], family: 'Grant', birthDate: '1981-01-01' }),
    ];
    const twins = estimateTwins(records);
    expect(twins.share).toBeCloseTo(0.5, 5);
    expect(twins.pairs).toBe(1);
    expect(twins.given.different!).toBeGreaterThan(twins.given.exact!);
    expect(twins.sex!.different!).toBeGreaterThan(twins.sex!.same!);
  });

  it('does not mistake one person in two agencies, or a duplicate record, for twins', () => {
    expect(estimateTwins([twin('a', 'Morag', 'nhs', 'female'), twin('b', 'Shona', 'council', 'female')]).share).toBe(0);
    expect(estimateTwins([twin('a', 'Morag', 'nhs', 'female'), twin('b', 'Morag', 'nhs', 'female')]).share).toBe(0);
  });

  it('tells a register’s duplicates under a familiar form of the forename from twins, given how one person’s records compare', () => {
    // Twenty pairs of twins (different forenames, half of different sex) and ten people each
    // registered twice under a familiar form (Joe / Joseph) in one agency's register.
    const twinNames: [string, string, 'male' | 'female', 'male' | 'female'][] = [
      ['Morag', 'Hamish', 'female', 'male'],
      ['Callum', 'Fraser', 'male', 'male'],
      ['Isla', 'Ewan', 'female', 'male'],
      ['Eilidh', 'Kirsty', 'female', 'female'],
    ];
    const nicknames: [string, string][] = [
      ['Joseph', 'Joe'],
      ['Robert', 'Rab'],
      ['Margaret', 'Peggy'],
      ['Thomas', 'Tommy'],
      ['Rebecca', 'Becky'],
    ];
    const records: MatchFeatures[] = [];
    const at = (i: number) => `20${String(10 + (i % 10)).padStart(2, '0')}-0${1 + (i % 9)}-1${i % 10}`;
    for (let i = 0; i < 20; i++) {
      const [a, b, sa, sb] = twinNames[i % twinNames.length]!;
      records.push(toFeatures({ id: `t${i}a`, agency: 'nhs', given: [a], family: `Twin${i}`, birthDate: at(i), gender: sa }));
      records.push(toFeatures({ id: `t${i}b`, agency: 'nhs', given: [b], family: `Twin${i}`, birthDate: at(i), gender: sb }));
    }
    for (let i = 0; i < 10; i++) {
      const [full, short] = nicknames[i % nicknames.length]!;
      const gender = ['Margaret', 'Rebecca'].includes(full) ? ('female' as const) : ('male' as const);
      records.push(toFeatures({ id: `d${i}a`, agency: 'nhs', given: [full], family: `Dup${i}`, birthDate: at(i), gender }));
      records.push(toFeatures({ id: `d${i}b`, agency: 'nhs', given: [short], family: `Dup${i}`, birthDate: at(i), gender }));
    }
    // How one person's two records compare (a model's m) and how two people's do (u).
    const person: MatchModel['fields'] = {
      given: {
        exact: { m: 0.9, u: 0.004 },
        nickname: { m: 0.04, u: 0.002 },
        similar: { m: 0.03, u: 0.001 },
        close: { m: 0.01, u: 0.007 },
        initial: { m: 0.005, u: 0.001 },
        'other-forename': { m: 0.005, u: 0.002 },
        different: { m: 0.01, u: 0.983 },
      },
      sex: { same: { m: 0.995, u: 0.5 }, different: { m: 0.005, u: 0.5 } },
    };
    const counted = estimateTwins(records);
    const separated = estimateTwins(records, person);
    expect(counted.pairs).toBe(30);
    expect(separated.pairs).toBe(30);
    // Counted as twins, a third of "twins" share a forename by nickname; separated, about as few as strangers do.
    expect(counted.given.nickname!).toBeGreaterThan(0.3);
    expect(separated.given.nickname!).toBeLessThan(0.05);
    expect(separated.duplicates!).toBeGreaterThan(9);
    expect(separated.duplicates!).toBeLessThan(12);
    expect(separated.share).toBeCloseTo(40 / records.length, 1);
  });
});

describe('a model’s shared-home table', () => {
  const base: MatchModel = {
    version: 1,
    fields: {
      family: { exact: { m: 0.9, u: 0.01 }, different: { m: 0.05, u: 0.98 } },
      residence: { address: { m: 0.6, u: 0.001 }, different: { m: 0.1, u: 0.9 } },
    },
    thresholds: { upper: 10, lower: 5 },
  };

  it('is refused at start-up when a residence level or family-name level is unknown or a share is not a probability', () => {
    const bad = {
      ...base,
      sharedHomeNames: { kitchen: { pairs: 10, family: { exact: 0.5 } }, address: { pairs: 10, family: { exact: 1.2, maiden: 0.1 } } },
    };
    expect(() => assertValidModel(bad)).toThrow(/sharedHomeNames\.kitchen: unknown residence level[\s\S]*sharedHomeNames\.address\.family\.exact: must be a probability[\s\S]*sharedHomeNames\.address\.family\.maiden: unknown level/);
    expect(() => assertValidModel({ ...base, sharedHomeNames: { address: { pairs: 10, family: { exact: 0.7, different: 0.3 } } } })).not.toThrow();
  });
});

describe('nonMatchShare (u less the matches among random pairs)', () => {
  it('takes out of a level’s random-pair share the matches expected there, never going below the sample’s half-pair floor', () => {
    // 1 in 1,000 random pairs is one person; 80 % of those agree on the level; 0.1 % of random pairs do.
    expect(nonMatchShare(0.001, 0.8, 0.001, 100_000)).toBeCloseTo((0.001 - 0.0008) / 0.999, 8);
    // The agreeing random pairs are no more than the expected matches: u is what the sample cannot resolve.
    expect(nonMatchShare(0.0005, 0.8, 0.001, 100_000)).toBe(0.5 / 100_000);
    // A common level is barely moved.
    expect(nonMatchShare(0.5, 0.1, 0.0001, 100_000)).toBeCloseTo(0.5, 4);
  });
});
