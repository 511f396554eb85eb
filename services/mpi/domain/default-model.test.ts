/**
 * The shipped default model decides a partnership's first load until the model is estimated from
 * its own records: it must be safe on records of people who share homes, which every register
 * holds, without knowing whether this partnership's do.
 */
import defaultModel from './default-model.json' with { type: 'json' };
import { RESIDENCE_PARTS } from './comparators.js';
import { compare } from './engine.js';
import { toFeatures, type MatchFeatures } from './features.js';
import { assertValidModel, type MatchModel } from './model.js';
import type { DemographicRecord } from './record.js';
import { makeChi } from '../../../fixtures/generators/chi.js';
import { Random } from '../../../fixtures/generators/random.js';

const model: MatchModel = defaultModel as MatchModel;

/** A valid CHI for a birth date and sex; the seed tells people born the same day apart. */
const testChiFor = (birthDate: string, sex: 'male' | 'female', seed: number) => makeChi(birthDate, sex, new Random(seed));

let next = 0;
function record(partial: Partial<DemographicRecord>): MatchFeatures {
  return toFeatures({ id: `d${++next}`, given: [], ...partial });
}

const home = { postcode: 'EH6 8QZ', addressLine: 'Flat 2F1, 14 Easter Road', phone: '0131 496 0123' } as const;

describe('the shipped default model', () => {
  it('is valid, estimated from data, and counts the home once: one residence comparison, no postcode, address, town or phone weighed on its own', () => {
    expect(() => assertValidModel(defaultModel)).not.toThrow();
    expect(model.estimation?.method).toBe('em');
    expect(model.fields.residence).toBeDefined();
    for (const part of RESIDENCE_PARTS) expect(model.fields[part]).toBeUndefined();
    // How common a name is comes from the partnership's own records, not a generator's.
    expect(model.termFrequencies).toBeUndefined();
  });

  it('does not link a father and his namesake son at one address (birth dates 30 years apart, a CHI each)', () => {
    const father = record({ given: ['John'], family: 'Brown', birthDate: '1961-04-19', gender: 'male', chi: testChiFor('1961-04-19', 'male', 3), ...home });
    const son = record({ given: ['John'], family: 'Brown', birthDate: '1991-08-02', gender: 'male', chi: testChiFor('1991-08-02', 'male', 5), ...home });
    expect(compare(father, son, model).outcome).toBe('new');
  });

  it('does not ask a reviewer about two members of one household whose forenames, birth dates and sexes differ', () => {
    const mother = record({ given: ['Morag'], family: 'MacLeod', birthDate: '1984-07-03', gender: 'female', ...home });
    const son = record({ given: ['Callum'], family: 'MacLeod', birthDate: '2012-01-23', gender: 'male', ...home });
    expect(compare(mother, son, model).outcome).toBe('new');
  });

  it('still links one person recorded before and after a move, without a CHI on one side', () => {
    const before = record({ given: ['Morag'], family: 'MacLeod', birthDate: '1984-07-03', gender: 'female', chi: testChiFor('1984-07-03', 'female', 7), ...home });
    const after = record({ given: ['Morag'], family: 'MacLeod', birthDate: '1984-07-03', gender: 'female', postcode: 'G12 8QQ', addressLine: '3 Byres Road' });
    expect(compare(before, after, model).outcome).toBe('link');
  });
});
