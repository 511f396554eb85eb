import { jsonAnswerType } from './media-types.js';

describe('the JSON media type a FHIR answer goes out in', () => {
  it('is application/fhir+json by default, for FHIR JSON of R4 and for wildcards', () => {
    for (const accept of [undefined, '', '*/*', 'application/fhir+json', 'application/fhir+json; fhirVersion=4.0', 'application/*', 'application/json+fhir', 'application/*+json']) {
      expect(jsonAnswerType([], accept)).toBe('application/fhir+json');
    }
  });

  it('is the generic JSON type a client names (R4 §3.1.0.1.10), and FHIR JSON where the client takes both alike', () => {
    expect(jsonAnswerType([], 'application/json')).toBe('application/json');
    expect(jsonAnswerType([], 'text/json')).toBe('text/json');
    expect(jsonAnswerType([], 'application/json, */*;q=0.1')).toBe('application/json');
    expect(jsonAnswerType([], 'application/json, application/fhir+json')).toBe('application/fhir+json');
    expect(jsonAnswerType([], 'application/json;q=0.5, application/fhir+json;q=0.9')).toBe('application/fhir+json');
    expect(jsonAnswerType([], 'application/fhir+xml, application/json;q=0.5')).toBe('application/json');
  });

  it('follows _format over Accept', () => {
    expect(jsonAnswerType(['json'], 'application/json')).toBe('application/fhir+json');
    expect(jsonAnswerType(['application/json'], undefined)).toBe('application/json');
    expect(jsonAnswerType(['application/fhir json'], 'text/html')).toBe('application/fhir+json');
  });

  it('is none when the client accepts no JSON: a document, another format, another FHIR version', () => {
    for (const accept of ['text/html', 'application/pdf', 'application/fhir+xml', 'application/fhir+json; fhirVersion=3.0', 'application/json;q=0']) {
      expect(jsonAnswerType([], accept)).toBeUndefined();
    }
    expect(jsonAnswerType(['pdf'], '*/*')).toBeUndefined();
  });
});
