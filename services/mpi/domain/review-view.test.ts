import type { Parameters, ParametersParameter, Patient } from 'fhir/r4.js';
import { IdentifierSystems } from '../../../shared/fhir/systems.js';
import { compare } from './engine.js';
import { toFeatures } from './features.js';
import type { MatchModel } from './model.js';
import { buildReviewTask } from './review-task.js';
import { fieldValues, reviewViewParameters } from './review-view.js';

const model: MatchModel = {
  version: 1,
  fields: {
    given: { exact: { m: 0.9, u: 0.01 }, different: { m: 0.05, u: 0.9 } },
    family: { exact: { m: 0.9, u: 0.01 }, different: { m: 0.05, u: 0.9 } },
    birthDate: { exact: { m: 0.9, u: 0.001 }, 'year-slip': { m: 0.02, u: 0.0005 }, different: { m: 0.05, u: 0.99 } },
    postcode: { exact: { m: 0.7, u: 0.001 }, different: { m: 0.2, u: 0.99 } },
  },
  thresholds: { upper: 20, lower: 8 },
};

const patient = (id: string, birthDate: string, postcode: string, chi?: string): Patient => ({
  resourceType: 'Patient',
  id,
  identifier: chi ? [{ system: IdentifierSystems.chi, value: chi }] : [],
  name: [{ given: ['Morag', 'Ann'], family: 'McLeod' }],
  birthDate,
  gender: 'female',
  address: [{ line: ['Flat 2/1', '14 Main St'], city: 'Leith', postalCode: postcode }],
});

const task = {
  ...buildReviewTask({
    recordId: 'police.1',
    candidateId: 'nhs.1',
    candidatePersonId: 'per-1',
    score: 12,
    probability: 0.6,
    fields: [],
    requestedBy: 'mpi',
    authoredOn: '2026-12-06T08:00:00Z',
  }),
  id: 't1',
};

const record = patient('police.1', '1971-04-02', 'EH6 8QZ');
const candidate = patient('nhs.1', '1970-04-02', 'EH6 8QZ', '0204701234');
const comparison = compare(
  toFeatures({ id: 'police.1', given: ['Morag'], family: 'McLeod', birthDate: '1971-04-02', postcode: 'EH6 8QZ' }),
  toFeatures({ id: 'nhs.1', given: ['Morag'], family: 'McLeod', birthDate: '1970-04-02', postcode: 'EH6 8QZ' }),
  model,
);

const fieldsOf = (view: Parameters) =>
  (view.parameter ?? []).filter((p) => p.name === 'field').map((p) => Object.fromEntries((p.part ?? []).map((x: ParametersParameter) => [x.name, x.valueCode ?? x.valueString ?? x.valueDecimal])));

describe('fieldValues', () => {
  it('gives the values as the agency recorded them, by the engine’s field names', () => {
    expect(fieldValues(candidate)).toEqual({
      chi: '0204701234',
      given: 'Morag Ann',
      family: 'McLeod',
      birthDate: '1970-04-02',
      sex: 'female',
      postcode: 'EH6 8QZ',
      address: 'Flat 2/1, 14 Main St',
      town: 'Leith',
    });
  });
});

describe('reviewViewParameters', () => {
  it('puts both records’ values beside each field’s level and weight', () => {
    const view = reviewViewParameters({ task, record: { recordId: 'police.1', patient: record, agency: 'police' }, candidate: { recordId: 'nhs.1', patient: candidate, agency: 'nhs' }, comparison, probability: 0.61234, model: 'm' });
    const fields = fieldsOf(view);
    expect(fields.find((f) => f.name === 'birthDate')).toMatchObject({ record: '1971-04-02', candidate: '1970-04-02', level: 'year-slip' });
    expect(fields.find((f) => f.name === 'given')!.weight).toBeCloseTo(Math.log2(0.9 / 0.01), 1);
    // A field the model does not use still shows its values, without a level.
    expect(fields.find((f) => f.name === 'town')).toEqual({ name: 'town', record: 'Leith', candidate: 'Leith' });
    expect(view.parameter!.find((p) => p.name === 'probability')!.valueDecimal).toBe(0.612);
  });

  it('shows how much sharing a home changed the family name’s weight, beside its weight', () => {
    const atHome: MatchModel = {
      ...model,
      fields: {
        given: model.fields.given!,
        family: model.fields.family!,
        birthDate: model.fields.birthDate!,
        residence: { address: { m: 0.6, u: 0.001 }, different: { m: 0.1, u: 0.9 } },
      },
      sharedHomeNames: { address: { pairs: 500, family: { exact: 0.8, different: 0.2 } } },
    };
    const home = { given: ['Morag'], family: 'McLeod', postcode: 'EH6 8QZ', addressLine: '14 Main St' };
    const sameHome = compare(toFeatures({ id: 'police.1', ...home, birthDate: '1971-04-02' }), toFeatures({ id: 'nhs.1', ...home, birthDate: '1970-04-02' }), atHome);
    const view = reviewViewParameters({ task, record: { recordId: 'police.1', patient: record }, candidate: { recordId: 'nhs.1', patient: candidate }, comparison: sameHome, model: 'm' });
    const family = fieldsOf(view).find((f) => f.name === 'family')!;
    expect(family['shared-home']).toBeCloseTo(Math.log2(0.01 / 0.8), 1);
    expect(family.weight).toBeCloseTo(Math.log2(0.9 / 0.8), 1);
  });

  it('leaves out every value of a withheld record and says why, keeping the levels', () => {
    const view = reviewViewParameters({
      task,
      record: { recordId: 'police.1', patient: record, agency: 'police', withheld: 'not under the ISP' },
      candidate: { recordId: 'nhs.1', patient: candidate, agency: 'nhs' },
      comparison,
      model: 'm',
    });
    const fields = fieldsOf(view);
    expect(fields.every((f) => f.record === undefined)).toBe(true);
    expect(fields.find((f) => f.name === 'birthDate')).toMatchObject({ candidate: '1970-04-02', level: 'year-slip' });
    const recordSide = view.parameter!.find((p) => p.name === 'side' && p.part![0]!.valueCode === 'record')!;
    expect(recordSide.part).toEqual(expect.arrayContaining([{ name: 'shown', valueBoolean: false }, { name: 'withheld', valueString: 'not under the ISP' }]));
  });

  it('says so when a record is no longer indexed, and shows what is left', () => {
    const view = reviewViewParameters({ task, record: { recordId: 'police.1', patient: record }, candidate: { recordId: 'nhs.1' }, model: 'm' });
    expect(view.parameter!.find((p) => p.name === 'note')!.valueString).toMatch(/no longer indexed/);
    expect(view.parameter!.find((p) => p.name === 'outcome')).toBeUndefined();
    expect(fieldsOf(view).find((f) => f.name === 'family')).toEqual({ name: 'family', record: 'McLeod' });
  });
});
