import { withOperationDollar } from './operation-path.js';

describe('withOperationDollar', () => {
  it.each([
    ['/fhir/Patient/%24match', '/fhir/Patient/$match'],
    ['/fhir/Patient/%24ihe-pix?sourceIdentifier=a%7Cb', '/fhir/Patient/$ihe-pix?sourceIdentifier=a%7Cb'],
    ['/fhir/%24process-message', '/fhir/$process-message'],
    ['/fhir/Contract/c1/%24verify', '/fhir/Contract/c1/$verify'],
  ])('reads an encoded $ opening a segment as the operation it names: %s', (url, routed) => {
    expect(withOperationDollar(url)).toBe(routed);
  });

  it.each(['/fhir/Patient/$match', '/fhir/Patient?name=%24x', '/fhir/Patient/a%24b', '/fhir/Patient/%2424'])('leaves anything else as sent: %s', (url) => {
    expect(withOperationDollar(url)).toBe(url);
  });
});
