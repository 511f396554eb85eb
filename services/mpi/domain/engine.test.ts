import { generateRandomisedPopulation } from '../../../fixtures/generators/randomised-population.js';
import defaultModel from './default-model.json' with { type: 'json' };
import { blockingKeys } from './blocking.js';
import { fieldIndex } from './comparators.js';
import { Random } from '../../../fixtures/generators/random.js';
import { classify, compare, decide, MatchIndex, matchGrade, matchProbability, scoreAndGrade, sortShort, verdict } from './engine.js';
import { toFeatures, type MatchFeatures } from './features.js';
import { assertValidModel, levelWeight, UNLISTED_TERM_MAX_BONUS_BITS, type MatchModel } from './model.js';
import type { DemographicRecord } from './record.js';

const model: MatchModel = defaultModel as MatchModel;

let next = 0;
function person(partial: Partial<DemographicRecord>): MatchFeatures {
  return toFeatures({ id: partial.id ?? `r${++next}`, given: [], ...partial });
}

const morag: Partial<DemographicRecord> = {
  given: ['Morag'],
  family: 'MacLeod',
  birthDate: '1984-07-03',
  gender: 'female',
  postcode: 'EH6 8QZ',
  addressLine: 'Flat 2F1, 14 Easter Road',
  phone: '0131 496 0123',
};

function fieldLevel(comparison: ReturnType<typeof compare>, field: string): string | undefined {
  return comparison.fields.find((f) => f.field === field)?.level;
}

describe('the default model', () => {
  it('is a valid model estimated from data, not hand-set', () => {
    expect(() => assertValidModel(defaultModel)).not.toThrow();
    expect(model.estimation?.method).toBe('em');
    expect(model.thresholds.upper).toBeGreaterThan(model.thresholds.lower);
  });
});

describe('compare', () => {
  it('links a nickname, a Mc/Mac respelling and a day/month transposition, and explains each field', () => {
    const a = person({ given: ['Robert'], family: 'MacDonald', birthDate: '1979-03-12', gender: 'male', postcode: 'G12 8QQ', addressLine: '3 Byres Road' });
    const b = person({ given: ['Rab'], family: 'McDonald', birthDate: '1979-12-03', gender: 'male', postcode: 'G12 8QQ', addressLine: '3 Byres Rd' });
    const result = compare(a, b, model);
    expect(result.outcome).toBe('link');
    expect(result.grade).toBe('certain');
    expect(fieldLevel(result, 'given')).toBe('nickname');
    expect(fieldLevel(result, 'family')).toBe('exact');
    expect(fieldLevel(result, 'birthDate')).toBe('transposed');
    expect(fieldLevel(result, 'residence')).toBe('address');
  });

  it('gives a score that is the sum of the explained field weights', () => {
    const result = compare(person(morag), person({ ...morag, given: ['Morag'], postcode: 'EH7 5AB' }), model);
    const sum = result.fields.reduce((s, f) => s + f.weight, 0);
    expect(result.score).toBeCloseTo(sum, 1);
    expect(result.fields.map((f) => f.field)).toEqual(Object.keys(model.fields));
  });

  it('reports a missing value as missing with no weight', () => {
    const result = compare(person(morag), person({ ...morag, gender: undefined }), model);
    expect(result.fields.find((f) => f.field === 'sex')).toEqual({ field: 'sex', level: 'missing', weight: 0 });
  });

  it('links the same forename, family name, birth date and sex at another address with a CHI on one side only (issue 12: the held-out set\'s commonest miss)', () => {
    // Social work (with the CHI) and the police (never a CHI) hold one young man at two addresses.
    const socialWork = person({ given: ['Liam'], family: 'Brown', birthDate: '2003-04-19', gender: 'male', chi: '1904030012', postcode: 'G41 2AB', addressLine: '12 Albert Road' });
    const police = person({ given: ['Liam'], family: 'Brown', birthDate: '2003-04-19', gender: 'male', postcode: 'PA3 4QT', addressLine: '7 Glen Street' });
    const result = compare(socialWork, police, model);
    expect(result.outcome).toBe('link');
    expect(fieldLevel(result, 'residence')).toBe('different');
    expect(fieldLevel(result, 'chi')).toBe('missing');
  });

  it('at least reviews one name changed by a nickname, a typo or a marriage together with a move: never a new person unasked', () => {
    const before: Partial<DemographicRecord> = { given: ['William'], family: 'Brown', birthDate: '1961-08-23', gender: 'male', postcode: 'G41 2AB', addressLine: '12 Albert Road' };
    const moved: Partial<DemographicRecord> = { postcode: 'PA3 4QT', addressLine: '7 Glen Street' };
    const bride: Partial<DemographicRecord> = { ...before, given: ['Emma'], gender: 'female' };
    const pairs: [string, Partial<DemographicRecord>, Partial<DemographicRecord>][] = [
      ['nickname', before, { ...before, ...moved, given: ['Bill'] }],
      ['forename typo', before, { ...before, ...moved, given: ['Wiliam'] }],
      ['family-name typo', before, { ...before, ...moved, family: 'Browne' }],
      ['marriage', bride, { ...bride, ...moved, family: 'Wilson' }],
    ];
    for (const [change, a, b] of pairs) expect([change, compare(person(a), person(b), model).outcome]).not.toEqual([change, 'new']);
  });

  it('does not link twins automatically: same surname, birth date and address, different forename', () => {
    const twin = person({ ...morag, given: ['Shona'], phone: undefined });
    const result = compare(person(morag), twin, model);
    expect(result.outcome).not.toBe('link');
    expect(result.rule?.rule).toBe('possible-twin');
    expect(result.rule?.detail).toMatch(/twins/);
    expect(fieldLevel(result, 'given')).toBe('different');
  });

  it('treats a brother and sister born the same day at the same address as different people', () => {
    const brother = person({ ...morag, given: ['Hamish'], gender: 'male' });
    expect(compare(person(morag), brother, model).outcome).toBe('new');
  });

  it('keeps same-name strangers apart: same name, different birth date and district', () => {
    const stranger = person({ ...morag, birthDate: '1985-02-19', postcode: 'KY1 1XX', addressLine: '8 High Street', phone: undefined });
    expect(compare(person(morag), stranger, model).outcome).toBe('new');
  });

  it('links records sharing a CHI number even when names and address disagree', () => {
    const a = person({ chi: '0307844786', given: ['Morag'], family: 'MacLeod', birthDate: '1984-07-03', gender: 'female' });
    const b = person({ chi: '0307844786', given: ['Sarah'], family: 'Anderson', birthDate: '1984-07-03', gender: 'female', postcode: 'KY1 1XX' });
    const result = compare(a, b, model);
    expect(result.outcome).toBe('link');
    expect(result.grade).toBe('certain');
    expect(result.rule).toEqual({ rule: 'same-chi', outcome: 'link', detail: 'same CHI number' });
  });

  it('sends a shared CHI to review when both sex and birth date contradict it', () => {
    const a = person({ chi: '0307844786', given: ['Morag'], family: 'MacLeod', birthDate: '1984-07-03', gender: 'female' });
    const b = person({ chi: '0307844786', given: ['Morag'], family: 'MacLeod', birthDate: '1951-11-23', gender: 'male' });
    const result = compare(a, b, model);
    expect(result.outcome).toBe('review');
    expect(result.rule?.rule).toBe('same-chi-contradicted');
  });

  it('sends a shared CHI to review when forename and birth date contradict it (a parent’s CHI on a child’s record)', () => {
    const father = person({ chi: '1508550212', given: ['Alan'], family: 'Adam', birthDate: '1955-08-15', gender: 'male', postcode: 'EH6 8QZ', addressLine: '14 Easter Road' });
    const son = person({ chi: '1508550212', given: ['Jamie'], family: 'Adam', birthDate: '1986-05-02', gender: 'male', postcode: 'EH6 8QZ', addressLine: '14 Easter Road' });
    const result = compare(father, son, model);
    expect(result.outcome).toBe('review');
    expect(result.rule).toEqual({ rule: 'same-chi-contradicted', outcome: 'review', detail: 'same CHI number, but forename and birth date disagree' });
  });

  it('sends a shared CHI to review when a record’s birth date is another person’s than the CHI carries (a son named after his father, with his CHI)', () => {
    const home = { family: 'Adam', gender: 'male', postcode: 'EH6 8QZ', addressLine: '14 Easter Road' } as const;
    const father = person({ ...home, chi: '1508550212', given: ['Alan'], birthDate: '1955-08-15' });
    const son = person({ ...home, chi: '1508550212', given: ['Alan'], birthDate: '1986-05-02' });
    const result = compare(father, son, model);
    expect(fieldLevel(result, 'given')).toBe('exact');
    expect(result.outcome).toBe('review');
    expect(result.rule).toEqual({
      rule: 'same-chi-contradicted',
      outcome: 'review',
      detail: "same CHI number, but a record's birth date is not the one the CHI carries (150855, DDMMYY) and the two birth dates disagree",
    });
    // Whichever record arrives first.
    expect(compare(son, father, model).rule?.rule).toBe('same-chi-contradicted');
  });

  it('still links a shared CHI when the birth dates differ by what one slip or an estimate gives: the CHI settles it', () => {
    const a = person({ ...morag, chi: '0307844786' });
    const slips = {
      'a wrong day': '1984-07-26',
      'a wrong month': '1984-11-03',
      'a year wrong by decades, day and month right': '1962-07-03',
      'an estimate: 1 January of a year one out': '1983-01-01',
    };
    for (const [slip, birthDate] of Object.entries(slips)) {
      const result = compare(a, person({ ...morag, chi: '0307844786', birthDate }), model);
      expect([slip, fieldLevel(result, 'birthDate'), result.rule?.rule]).toEqual([slip, 'different', 'same-chi']);
    }
  });

  it('still links a shared CHI whose carried birth date neither record has, when the records agree (a date corrected after the CHI was issued)', () => {
    const a = person({ ...morag, chi: '0307844786', birthDate: '1986-11-21' });
    const b = person({ ...morag, chi: '0307844786', birthDate: '1986-11-21', postcode: 'KY1 1XX', addressLine: '8 High Street', phone: undefined });
    expect(compare(a, b, model).rule?.rule).toBe('same-chi');
  });

  it('still links a shared CHI when only one identifying field disagrees (an estimated birth date)', () => {
    const a = person({ ...morag, chi: '0307844786' });
    const estimated = person({ ...morag, chi: '0307844786', birthDate: '1984-01-01', postcode: 'KY1 1XX', addressLine: '8 High Street', phone: undefined });
    const result = compare(a, estimated, model);
    expect(fieldLevel(result, 'birthDate')).toBe('different');
    expect(result.outcome).toBe('link');
    expect(result.rule?.rule).toBe('same-chi');
  });

  it('keeps a namesake of another generation at the same home a new person: birth dates apart weigh what the data say', () => {
    const home = { family: 'Scott', gender: 'male', postcode: 'FK2 7RG', addressLine: '12 Main Street', phone: '01324 496 012' } as const;
    const father = person({ ...home, given: ['Anthony'], birthDate: '1976-06-10' });
    const son = person({ ...home, given: ['Anthony'], birthDate: '2012-06-02' });
    const result = compare(father, son, model);
    expect(fieldLevel(result, 'birthDate')).toBe('apart');
    expect(result.outcome).toBe('new');
    // No rule: the level's weight, learned by EM, is the whole of it.
    expect(result.rule).toBeUndefined();
    const dates = model.fields.birthDate!;
    expect(levelWeight(dates.apart!)).toBeLessThan(levelWeight(dates.different!) - 4);
  });

  it('weighs birth dates apart as `different` in a model estimated before the level existed (its scores do not change)', () => {
    const { apart: _new, ...before } = model.fields.birthDate!;
    const older = { ...model, fields: { ...model.fields, birthDate: before } } as MatchModel;
    const home = { family: 'Scott', gender: 'male', postcode: 'FK2 7RG', addressLine: '12 Main Street' } as const;
    const result = compare(person({ ...home, given: ['Anthony'], birthDate: '1976-06-10' }), person({ ...home, given: ['Anthony'], birthDate: '2012-06-02' }), older);
    expect(result.fields.find((f) => f.field === 'birthDate')).toEqual({ field: 'birthDate', level: 'apart', weight: Math.round(levelWeight(before.different!) * 100) / 100 });
  });

  it('leaves to the score birth dates that one slip or an estimate explains', () => {
    const a = person({ ...morag, phone: undefined });
    const dates = {
      'a wrong day': '1984-07-26',
      'a wrong month': '1984-11-03',
      'a wrong year, day and month right': '1962-07-03',
      'a year slip and a wrong day': '1985-07-26',
      'an estimate, 1 January of a guessed year': '1980-01-01',
    };
    for (const [slip, birthDate] of Object.entries(dates)) {
      const result = compare(a, person({ ...morag, phone: undefined, birthDate }), model);
      expect([slip, fieldLevel(result, 'birthDate'), result.rule]).toEqual([slip, 'different', undefined]);
    }
  });

  it('never links two different CHI numbers automatically, however well the rest agrees: a reviewer decides', () => {
    const result = compare(person({ ...morag, chi: '0307840204' }), person({ ...morag, chi: '0307840220' }), model);
    expect(result.score).toBeGreaterThanOrEqual(model.thresholds.upper);
    expect(result.outcome).toBe('review');
    expect(result.rule?.rule).toBe('different-chi');
    // Below the review band the score decides: the rule only caps.
    const stranger = compare(person({ ...morag, chi: '0307840204' }), person({ ...morag, chi: '0307840220', given: ['Isla'], postcode: 'KY1 1XX', addressLine: '8 High Street', phone: undefined }), model);
    expect(stranger.outcome).toBe('new');
  });

  it('leaves two different identifiers that are not valid CHIs to their weight: without a check digit, one may be mistyped', () => {
    const result = compare(person({ ...morag, chi: '5304218' }), person({ ...morag, chi: '5309911' }), model);
    expect(fieldLevel(result, 'chi')).toBe('different');
    expect(result.outcome).toBe('link');
    expect(result.rule).toBeUndefined();
  });

  it('counts different CHI numbers as strong evidence against', () => {
    const same = compare(person({ ...morag, chi: '0307844786' }), person({ ...morag, chi: '0307844786' }), model);
    const different = compare(person({ ...morag, chi: '0307844786' }), person({ ...morag, chi: '0307846622' }), model);
    const chiWeight = different.fields.find((f) => f.field === 'chi')!.weight;
    expect(chiWeight).toBeLessThan(-3);
    expect(different.score).toBeLessThan(same.score - 20);
  });

  it('notices forename and family name swapped', () => {
    const a = person({ given: ['Fraser'], family: 'Campbell', birthDate: '1990-05-17', postcode: 'FK8 1AA' });
    const b = person({ given: ['Campbell'], family: 'Fraser', birthDate: '1990-05-17', postcode: 'FK8 1AA' });
    const result = compare(a, b, model);
    expect(result.namesSwapped).toBe(true);
    expect(fieldLevel(result, 'given')).toBe('exact');
  });
});

describe('verdict and scoreAndGrade', () => {
  it('say what compare says of a pair — score, outcome, rule, grade and the fields that differ — for every candidate pair of a population', () => {
    const population = generateRandomisedPopulation({ seed: 7, people: 300 });
    const records = population.records.map((r, i) =>
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
    const index = new MatchIndex(model);
    for (const r of records) index.add(r);
    const outcomes = new Set<string>();
    let pairs = 0;
    for (const a of records) {
      for (const b of index.candidates(a)) {
        const full = compare(a, b, model);
        const quick = verdict(a, b, model);
        // Birth dates `apart` disagree outright as `different` does.
        const different = full.fields.filter((f) => f.level === 'different' || f.level === 'apart').reduce((bits, f) => bits | (1 << fieldIndex(f.field)), 0);
        // Two different valid CHIs (the generator's CHIs all are).
        const differentChis = fieldLevel(full, 'chi') === 'different' && a.cn === undefined && b.cn === undefined;
        expect(quick).toEqual({
          score: full.score,
          outcome: full.outcome,
          differentFields: different,
          ...(full.rule ? { rule: full.rule.rule } : {}),
          ...(differentChis ? { differentChis: true } : {}),
        });
        expect(scoreAndGrade(a, b, model)).toEqual({ score: full.score, grade: full.grade });
        outcomes.add(full.rule ? `${full.outcome}:${full.rule.rule}` : full.outcome);
        pairs++;
      }
    }
    // The population exercises every outcome and the rules, so the agreement above is not vacuous.
    expect(pairs).toBeGreaterThan(1000);
    for (const seen of ['link', 'review', 'new', 'link:same-chi']) expect(outcomes).toContain(seen);
  });
});

describe('classify and matchGrade', () => {
  const { upper, lower } = model.thresholds;

  it('classifies by the two thresholds, inclusive at each', () => {
    expect(classify(upper, model)).toBe('link');
    expect(classify(upper - 0.01, model)).toBe('review');
    expect(classify(lower, model)).toBe('review');
    expect(classify(lower - 0.01, model)).toBe('new');
  });

  it('turns scores into posterior probabilities that agree with the thresholds', () => {
    // The default model's thresholds are set at P = 0.99 (link) and 0.2 (review).
    expect(matchProbability(upper, model)).toBeCloseTo(0.99, 3);
    expect(matchProbability(lower, model)).toBeCloseTo(0.2, 3);
    expect(matchProbability(upper + 40, model)).toBeCloseTo(1, 6);
    expect(matchProbability(-40, model)).toBeCloseTo(0, 6);
  });

  it('maps scores to FHIR match grades', () => {
    expect(matchGrade(upper + 5, model)).toBe('certain');
    expect(matchGrade((upper + lower) / 2 + 0.01, model)).toBe('probable');
    expect(matchGrade(lower + 0.01, model)).toBe('possible');
    expect(matchGrade(lower - 1, model)).toBe('certainly-not');
  });
});

describe('decide', () => {
  it('links to the one matching candidate and explains the decision', () => {
    const record = person({ ...morag, id: 'new' });
    const match = person({ ...morag, id: 'same', given: ['Morag'], addressLine: '14 Easter Rd' });
    const other = person({ id: 'other', given: ['Iain'], family: 'Fraser', birthDate: '1950-01-01', gender: 'male', postcode: 'IV1 1AA' });
    const decision = decide(record, [other, match], model);
    expect(decision.outcome).toBe('link');
    expect(decision.best?.id).toBe('same');
    expect(decision.best?.explanation.fields.length).toBeGreaterThan(0);
    expect(decision.reviewCandidates).toEqual([]);
    expect(decision.compared).toBe(2);
  });

  it("explains a candidate as compare does, however many decisions were made before it is read, and carries the explanation in JSON", () => {
    const record = person({ ...morag, id: 'later' });
    const match = person({ ...morag, id: 'kept', addressLine: '14 Easter Rd', phone: undefined });
    const decision = decide(record, [match], model);
    // Other decisions in between (the engine reuses its working arrays from one pair to the next).
    const stranger = person({ id: 'stranger', given: ['Iain'], family: 'Fraser', birthDate: '1950-01-01', gender: 'male', postcode: 'IV1 1AA' });
    decide(stranger, [person({ ...morag, id: 'x' }), match], model);
    decide(person({ ...morag, id: 'y', birthDate: '1985-07-03', postcode: 'KY1 1XX' }), [match, stranger], model);
    const expected = compare(record, match, model);
    expect(decision.best?.explanation).toEqual(expected);
    expect(decision.best?.score).toBe(expected.score);
    expect(JSON.parse(JSON.stringify(decision)).best).toEqual({ id: 'kept', score: expected.score, explanation: JSON.parse(JSON.stringify(expected)) });
  });

  it("names a candidate's rule without building its explanation: the rule its explanation gives", () => {
    const nhs = person({ ...morag, id: 'nhs', chi: '0307840204' });
    const council = person({ ...morag, id: 'council', addressLine: '14 Easter Rd' });
    const sameChi = decide(person({ ...morag, id: 'r1', chi: '0307840204', postcode: 'KY1 1XX' }), [nhs], model);
    const plain = decide(person({ ...morag, id: 'r2' }), [council], model);
    // Linking through the council record would give Person P two CHIs: lowered to review by that rule.
    const conflict = decide(person({ ...morag, id: 'r3', chi: '0307840220' }), [nhs, council], model, { personOf: () => 'P' });
    expect([sameChi.best?.rule, plain.best?.rule, conflict.best?.rule]).toEqual(['same-chi', undefined, 'different-chi']);
    for (const d of [sameChi, plain, conflict]) expect(d.best?.rule).toBe(d.best?.explanation.rule?.rule);
  });

  it('says new person when there are no candidates or none is close', () => {
    expect(decide(person(morag), [], model)).toEqual({ outcome: 'new', reviewCandidates: [], compared: 0 });
    const stranger = person({ given: ['Iain'], family: 'Fraser', birthDate: '1950-01-01', gender: 'male' });
    const decision = decide(person(morag), [stranger], model);
    expect(decision.outcome).toBe('new');
    expect(decision.best?.id).toBe(stranger.id);
  });

  it('sends a grey-zone candidate to review with its explanation', () => {
    // Same name, the birth year a year out, moved to another town, no phone or CHI to confirm.
    const moved = person({ ...morag, birthDate: '1985-07-03', postcode: 'KY1 1XX', addressLine: '8 High Street', phone: undefined });
    const decision = decide(person({ ...morag, phone: undefined }), [moved], model);
    expect(decision.outcome).toBe('review');
    expect(decision.reviewCandidates.map((c) => c.id)).toEqual([moved.id]);
    expect(decision.reviewCandidates[0]!.explanation.fields.find((f) => f.field === 'residence')?.level).toBe('different');
  });

  it('never links a record to twins at once: two matching persons who contradict each other go to review', () => {
    // A record with no forename matches both twins equally.
    const record = person({ ...morag, given: [] });
    const twin1 = person({ ...morag, id: 't1' });
    const twin2 = person({ ...morag, id: 't2', given: ['Shona'] });
    const decision = decide(record, [twin1, twin2], model);
    expect(decision.outcome).toBe('review');
    expect(decision.ambiguous).toBe(true);
    expect(decision.reviewCandidates.map((c) => c.id).sort()).toEqual(['t1', 't2']);
  });

  it('links to the best of two persons that are one individual indexed twice, and reports the duplicate', () => {
    const record = person({ ...morag, id: 'r', chi: '0307844786' });
    const old = person({ ...morag, id: 'old', postcode: 'G12 8QQ', addressLine: '3 Byres Road' });
    const health = person({ ...morag, id: 'health', chi: '0307844786' });
    const decision = decide(record, [old, health], model);
    expect(decision.outcome).toBe('link');
    expect(decision.best?.id).toBe('health');
    expect(decision.possibleDuplicates?.map((c) => c.id)).toEqual(['old']);
  });

  it('prefers the person certain by the same CHI over a higher probabilistic score', () => {
    // The record matches `exact` on every field, but carries the CHI `health` holds (under a double-barrelled surname, at another address).
    const record = person({ ...morag, id: 'r', chi: '0307844786' });
    const exact = person({ ...morag, id: 'exact' });
    const health = person({ ...morag, id: 'health', family: 'Macleod-Smith', chi: '0307844786', addressLine: '2 Other Street', postcode: 'EH11 1AA', phone: undefined });
    expect(compare(record, exact, model).score).toBeGreaterThan(compare(record, health, model).score);
    const decision = decide(record, [exact, health], model);
    expect(decision.outcome).toBe('link');
    expect(decision.best?.id).toBe('health');
  });

  it('does not link a record to a Person holding another CHI through that Person’s record without one: review', () => {
    // Person P: Morag's NHS record (one CHI) and a council record without a CHI. A record with another
    // CHI matches the council record outright; linking would give P two CHIs.
    const nhs = person({ ...morag, id: 'nhs', chi: '0307840204' });
    const council = person({ ...morag, id: 'council' });
    const record = person({ ...morag, id: 'r', chi: '0307840220' });
    expect(decide(record, [council], model).outcome).toBe('link');
    const decision = decide(record, [nhs, council], model, { personOf: () => 'P' });
    expect(decision.outcome).toBe('review');
    expect(decision.best?.id).toBe('council');
    expect(decision.best?.explanation.outcome).toBe('review');
    expect(decision.best?.explanation.rule?.rule).toBe('different-chi');
    expect(decision.best?.explanation.rule?.detail).toMatch(/record nhs/);
  });

  it('does not link a record to a Person holding another CHI on a record that was not a candidate: review naming that record', () => {
    // P holds Morag's NHS record (one CHI, under another surname and address: no blocking key in common with the
    // new record) and a council record without a CHI; only the council record is a candidate.
    const council = person({ ...morag, id: 'council' });
    const record = person({ ...morag, id: 'r', chi: '0307840220' });
    const held = (person: string) => (person === 'P' ? [{ id: 'nhs', chi: '0307840204' }] : undefined);
    expect(decide(record, [council], model, { personOf: () => 'P' }).outcome).toBe('link');
    const decision = decide(record, [council], model, { personOf: () => 'P', chisOf: held });
    expect(decision.outcome).toBe('review');
    expect(decision.best?.id).toBe('council');
    expect(decision.best?.explanation.rule?.rule).toBe('different-chi');
    expect(decision.best?.explanation.rule?.detail).toMatch(/record nhs/);
  });

  it('links through a Person whose other records hold the same CHI, its own old CHI, an invalid one or none', () => {
    const council = person({ ...morag, id: 'council' });
    const record = person({ ...morag, id: 'r', chi: '0307840220' });
    const link = (held: { id: string; chi: string; cn?: true }[]) => decide(record, [council], model, { personOf: () => 'P', chisOf: () => held }).outcome;
    expect(link([{ id: 'nhs', chi: '0307840220' }])).toBe('link');
    // The record itself, re-submitted with another CHI: its stored version is not another record.
    expect(link([{ id: 'r', chi: '0307840204' }])).toBe('link');
    // Not a valid CHI (a benchmark's national id): left to its weight, as between candidates.
    expect(link([{ id: 'other', chi: '0307840204', cn: true }])).toBe('link');
    expect(link([])).toBe('link');
  });

  it('asks for the CHIs of a Person only when the record has a CHI and that Person would be linked', () => {
    const council = person({ ...morag, id: 'council' });
    const stranger = person({ ...morag, id: 'stranger', given: ['Agnes'], birthDate: '1941-02-11', postcode: 'KY1 1AA', addressLine: '3 High Street' });
    const asked: string[] = [];
    const chisOf = (p: string) => (asked.push(p), []);
    const personOf = (id: string) => (id === 'council' ? 'P' : 'Q');
    decide(person({ ...morag, id: 'r' }), [council, stranger], model, { personOf, chisOf });
    expect(asked).toEqual([]);
    decide(person({ ...morag, id: 'r', chi: '0307840220' }), [council, stranger], model, { personOf, chisOf });
    expect(asked).toEqual(['P']);
  });

  it('counts records of one person once when told who they belong to', () => {
    const a = person({ ...morag, id: 'a' });
    const b = person({ ...morag, id: 'b', addressLine: '14 Easter Rd' });
    const decision = decide(person({ ...morag, id: 'r' }), [a, b], model, { personOf: () => 'P1' });
    expect(decision.outcome).toBe('link');
    expect(decision.possibleDuplicates).toBeUndefined();
    expect(decision.compared).toBe(2);
  });

  it('skips the record itself among the candidates', () => {
    const record = person({ ...morag, id: 'self' });
    expect(decide(record, [record], model).compared).toBe(0);
  });
});

describe('sortShort', () => {
  it('orders a list as Array.prototype.sort does, elements the comparison cannot tell apart and inconsistent comparisons included', () => {
    const random = new Random(12);
    for (let trial = 0; trial < 3000; trial++) {
      const items = Array.from({ length: random.between(2, 71) }, (_, i) => ({ i, rank: random.int(4) }));
      const answers = new Map<number, number>();
      const compares: ((x: (typeof items)[number], y: (typeof items)[number]) => number)[] = [
        // As the engine ranks candidates: never "equal", 1 both ways for a tie.
        (x, y) => (x.rank > y.rank ? -1 : 1),
        (x, y) => x.rank - y.rank,
        // Any answer at all, fixed per ordered pair.
        (x, y) => {
          const key = x.i * 100 + y.i;
          if (!answers.has(key)) answers.set(key, random.int(2) === 0 ? -1 : 1);
          return answers.get(key)!;
        },
      ];
      const compare = compares[trial % 3]!;
      expect(sortShort(items.slice(), compare)).toEqual(items.slice().sort(compare));
    }
  });
});

describe('MatchIndex', () => {
  it('finds candidates through blocking and matches against them', () => {
    const index = new MatchIndex(model);
    index.add(person({ ...morag, id: 'a' }));
    index.add(person({ id: 'b', given: ['Iain'], family: 'Fraser', birthDate: '1950-01-01', gender: 'male', postcode: 'IV1 1AA' }));
    expect(index.size).toBe(2);
    const probe = person({ ...morag, id: 'probe', given: ['Morag'], family: 'McLeod' });
    expect(index.candidates(probe).map((c) => c.id)).toEqual(['a']);
    const decision = index.match(probe);
    expect(decision.outcome).toBe('link');
    expect(decision.best?.id).toBe('a');
    expect(index.comparisons).toBe(1);
  });

  it('replaces a record re-added under the same id and forgets a removed one', () => {
    const index = new MatchIndex(model);
    index.add(person({ ...morag, id: 'a' }));
    index.add(person({ id: 'a', given: ['Iain'], family: 'Fraser', birthDate: '1950-01-01', postcode: 'IV1 1AA' }));
    expect(index.size).toBe(1);
    expect(index.candidates(person({ ...morag, id: 'probe' }))).toEqual([]);
    expect(index.get('a')?.g).toBe('iain');
    expect(index.remove('a')).toBe(true);
    expect(index.remove('a')).toBe(false);
    expect(index.size).toBe(0);
  });

  it('indexes a record matched first and added after another record opened the same blocks: both are found', () => {
    const index = new MatchIndex(model);
    const first = person({ ...morag, id: 'first' });
    expect(index.match(first).outcome).toBe('new');
    // Another record with the same blocking keys arrives (its keys given by the caller) before the first is added.
    const second = person({ ...morag, id: 'second', phone: '0131 496 0999' });
    index.add(second, blockingKeys(second));
    index.add(first);
    const probe = person({ ...morag, id: 'probe' });
    expect(index.candidates(probe).map((c) => c.id).sort()).toEqual(['first', 'second']);
    index.remove('second');
    expect(index.candidates(probe).map((c) => c.id)).toEqual(['first']);
  });

  it('skips blocks larger than its limit', () => {
    const index = new MatchIndex(model, { maxBlockSize: 2 });
    for (let i = 0; i < 3; i++) index.add(person({ id: `s${i}`, given: [`Name${'abc'[i]}`], family: 'Smith', birthDate: '1970-01-01' }));
    // All three share the birth-date block (too big now); the probe meets none through it.
    const probe = person({ id: 'p', given: ['Zed'], family: 'Jones', birthDate: '1970-01-01' });
    expect(index.candidates(probe)).toEqual([]);
  });
});

describe('term-frequency adjustment', () => {
  // u(family exact) 0.01; "smith" held by 5 % of records, "auchinachie" by 0.01 %; anything else by at most 0.001 %.
  const tfModel: MatchModel = {
    ...model,
    termFrequencies: { family: { values: { smith: 0.05, auchinachie: 0.0001 }, floor: 0.00001 } },
  };
  const u = tfModel.fields.family!.exact!.u;
  // Not at one home (there the family name is scored by the shared-home table, without term frequencies).
  const elsewhere = { postcode: 'G12 8QQ', addressLine: '3 Byres Road', phone: undefined };
  const familyOf = (family: string, m: MatchModel = tfModel) =>
    compare(person({ ...morag, id: 'a', family }), person({ ...morag, ...elsewhere, id: 'b', family }), m).fields.find((f) => f.field === 'family')!;

  it('weighs an agreement on a listed value by its measured share, however rare', () => {
    expect(familyOf('Smith').termFrequency).toBeCloseTo(Math.log2(u / 0.05), 1);
    expect(familyOf('Auchinachie').termFrequency).toBeCloseTo(Math.log2(u / 0.0001), 1);
  });

  it('caps the bonus of a value the table does not list (new since estimation, or seen once) at one bit', () => {
    // At the floor share it would be log2(u / 0.00001) ≈ 10 bits: enough to link strangers on a new name.
    expect(Math.log2(u / 0.00001)).toBeGreaterThan(5);
    expect(UNLISTED_TERM_MAX_BONUS_BITS).toBe(1);
    const unlisted = familyOf('Wojciechowska');
    expect(unlisted.termFrequency).toBe(UNLISTED_TERM_MAX_BONUS_BITS);
    const plain = compare(person({ ...morag, id: 'a', family: 'Wojciechowska' }), person({ ...morag, ...elsewhere, id: 'b', family: 'Wojciechowska' }), model).fields.find((f) => f.field === 'family')!;
    expect(unlisted.weight).toBeCloseTo(plain.weight + 1, 1);
  });

  it('keeps a malus for an unlisted value when the floor itself is common', () => {
    const common: MatchModel = { ...model, termFrequencies: { family: { values: {}, floor: 0.2 } } };
    expect(familyOf('Wojciechowska', common).termFrequency).toBeCloseTo(Math.log2(u / 0.2), 1);
  });
});
