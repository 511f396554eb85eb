import { OperationOutcomeError } from '../fhir/outcome.js';
import { conditionHolds, etagOfVersion, preconditionArg, versionCondition, versionIdFromEtag } from './version.js';

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

  it('reads If-Match / If-None-Match as RFC 9110 writes them: *, or a list of version ETags', () => {
    expect(versionCondition('*')).toEqual({ any: true });
    expect(versionCondition(' * ')).toEqual({ any: true });
    expect(versionCondition('W/"7", "1",3')).toEqual({ versions: ['7', '1', '3'] });
    expect(versionCondition('W/"2", W/"2"')).toEqual({ versions: ['2'] });
    for (const bad of ['', ' , ', 'W/"1", *', 'W/"1", abc', '"1" "2"']) expect(() => versionCondition(bad)).toThrow(OperationOutcomeError);
  });

  it('holds * of any current version, a list of one of its versions, neither of a resource that is not there', () => {
    expect(conditionHolds({ any: true }, '4')).toBe(true);
    expect(conditionHolds({ any: true }, undefined)).toBe(false);
    expect(conditionHolds({ versions: ['3', '4'] }, '4')).toBe(true);
    expect(conditionHolds({ versions: ['3'] }, '4')).toBe(false);
    expect(conditionHolds({ versions: ['3'] }, undefined)).toBe(false);
  });

  it("writes the write script's precondition: If-Match, then !If-None-Match when given", () => {
    expect(preconditionArg(undefined, undefined)).toBe('');
    expect(preconditionArg({ versions: ['3'] }, undefined)).toBe(',3,');
    expect(preconditionArg({ any: true }, undefined)).toBe('*');
    expect(preconditionArg(undefined, { any: true })).toBe('!*');
    expect(preconditionArg({ versions: ['3', '4'] }, { versions: ['4'] })).toBe(',3,4,!,4,');
  });
});
