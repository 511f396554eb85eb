import type { Organization } from 'fhir/r4.js';
import { canonicalJson } from '../canonical-json.js';
import { contentHash } from './content-hash.js';

describe('contentHash', () => {
  const base: Organization = { resourceType: 'Organization', id: 'a', name: 'Agency', alias: ['x', 'y'] };

  it('ignores key order, versionId and lastUpdated', () => {
    const shuffled: Organization = {
      alias: ['x', 'y'],
      name: 'Agency',
      id: 'a',
      resourceType: 'Organization',
      meta: { versionId: '4', lastUpdated: '2024-01-01T00:00:00Z' },
    };
    expect(contentHash(shuffled)).toBe(contentHash(base));
  });

  it('changes with the content, array order and the rest of meta', () => {
    const renamed: Organization = { ...base, name: 'Other' };
    const reordered: Organization = { ...base, alias: ['y', 'x'] };
    expect(contentHash(renamed)).not.toBe(contentHash(base));
    expect(contentHash(reordered)).not.toBe(contentHash(base));
    expect(contentHash({ ...base, meta: { tag: [{ code: 'demo' }] } })).not.toBe(contentHash(base));
  });

  it('writes JSON with sorted keys and undefined members dropped', () => {
    expect(canonicalJson({ b: 1, a: [{ d: undefined, c: 'x' }, undefined], e: null })).toBe('{"a":[{"c":"x"},null],"b":1,"e":null}');
  });
});
