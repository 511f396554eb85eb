import { OperationOutcomeError } from '../fhir/outcome.js';
import { etagOfVersion, versionIdFromEtag } from './version.js';

describe('version ETags', () => {
  it('accepts a weak ETag, a quoted or a bare versionId', () => {
    expect(versionIdFromEtag('W/"3"')).toBe('3');
    expect(versionIdFromEtag('"12"')).toBe('12');
    expect(versionIdFromEtag(' 7 ')).toBe('7');
    expect(etagOfVersion('3')).toBe('W/"3"');
  });

  it('refuses anything that cannot name a version with a 400', () => {
    for (const bad of ['W/"abc"', '"3', '*', '', 'W/3"']) {
      expect(() => versionIdFromEtag(bad)).toThrow(OperationOutcomeError);
    }
  });
});
