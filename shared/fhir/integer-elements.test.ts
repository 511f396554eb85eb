import { writeFileSync } from 'node:fs';
import { getAllDataTypes, tryGetDataType } from '@medplum/core';
import { integerElementAt, integerElementTableText } from './integer-elements.js';
import { INTEGER_ELEMENT_TABLE } from './integer-elements.data.js';
import { integralSpellingError, preloadFhirDefinitions } from './validate.js';

const patient = { resourceType: 'Patient', name: [{ family: 'McDonald' }], birthDate: '2014-03-07' };

// In this order: the first test runs before anything in this file has loaded the R4 definitions, the last loads them.
describe('integer elements without the R4 definitions (the body parser judges 2.0 on every main thread)', () => {
  it('judges an integral spelling without loading the definitions', () => {
    const err = integralSpellingError({ ...patient, multipleBirthInteger: 2 }, [{ path: ['multipleBirthInteger'], text: '2.0' }]);
    expect(err?.status).toBe(422);
    expect(err?.outcome.issue[0]?.expression).toEqual(['Patient.multipleBirthInteger']);
    expect(tryGetDataType('Patient')).toBeUndefined();
  });

  it('follows extensions, a primitive’s extensions and resources in resources; not decimals or unknown keys', () => {
    const coded = { ...patient, maritalStatus: { coding: [{ extension: [{ url: 'http://example.org/n', valueInteger: 2 }] }] } };
    expect(integerElementAt(coded, ['maritalStatus', 'coding', 0, 'extension', 0, 'valueInteger'])).toEqual({ type: 'integer', fhirPath: 'Patient.maritalStatus.coding[0].extension[0].valueInteger' });
    const primitive = { ...patient, _birthDate: { extension: [{ url: 'http://example.org/n', valuePositiveInt: 2 }] } };
    expect(integerElementAt(primitive, ['_birthDate', 'extension', 0, 'valuePositiveInt'])?.type).toBe('positiveInt');
    const bundle = { resourceType: 'Bundle', entry: [{ resource: { resourceType: 'CarePlan', activity: [{ detail: { scheduledTiming: { repeat: { count: 2, period: 2 } } } }] } }] };
    const repeat = ['entry', 0, 'resource', 'activity', 0, 'detail', 'scheduledTiming', 'repeat'];
    expect(integerElementAt(bundle, [...repeat, 'count'])).toEqual({ type: 'positiveInt', fhirPath: 'Bundle.entry[0].resource.activity[0].detail.scheduledTiming.repeat.count' });
    expect(integerElementAt(bundle, [...repeat, 'period'])).toBeUndefined(); // a decimal
    expect(integerElementAt({ ...patient, count: 2 }, ['count'])).toBeUndefined(); // no element of a Patient
    expect(integerElementAt({ count: 2 }, ['count'])).toBeUndefined(); // no resource
    expect(integerElementAt({ ...patient, multipleBirthInteger: 2 }, ['toString'])).toBeUndefined();
  });

  it('agrees with the R4 definitions (if not: UPDATE_INTEGER_ELEMENTS=1 node test/run-jest.js shared/fhir/integer-elements.test.ts rewrites it)', () => {
    preloadFhirDefinitions();
    const text = integerElementTableText(getAllDataTypes());
    if (process.env.UPDATE_INTEGER_ELEMENTS === '1') {
      const header = '// Generated from the R4 definitions by integerElementTableText (integer-elements.ts): UPDATE_INTEGER_ELEMENTS=1 node test/run-jest.js shared/fhir/integer-elements.test.ts';
      writeFileSync(new URL('./integer-elements.data.ts', import.meta.url), `${header}\nexport const INTEGER_ELEMENT_TABLE = \`${text}\`;\n`);
    }
    expect(text).toBe(INTEGER_ELEMENT_TABLE);
  });
});
