import { canonicalJson } from '../canonical-json.js';
import { ispCanonicalContent, ispDigest } from './canonical.js';
import { testIspContract } from './test-isp.js';

describe('canonicalJson', () => {
  it('Writes the same text whatever order the keys were in', () => {
    expect(canonicalJson({ b: 1, a: { d: [2, 'x'], c: null } })).toBe(canonicalJson({ a: { c: null, d: [2, 'x'] }, b: 1 }));
    expect(canonicalJson({ b: 1, a: { d: [2, 'x'], c: null } })).toBe('{"a":{"c":null,"d":[2,"x"]},"b":1}');
  });

  it('Keeps array order, because order is meaning in FHIR arrays', () => {
    expect(canonicalJson([2, 1])).not.toBe(canonicalJson([1, 2]));
  });

  it('Escapes strings as JSON does and drops undefined members', () => {
    expect(canonicalJson({ s: 'a"b\n', u: undefined })).toBe('{"s":"a\\"b\\n"}');
  });

  it('Refuses values JSON cannot carry instead of guessing', () => {
    expect(() => canonicalJson({ n: Number.NaN })).toThrow(TypeError);
    expect(() => canonicalJson({ f: () => 1 })).toThrow(TypeError);
  });
});

describe('ISP digest', () => {
  it('Ignores meta, signer, status and text, which change without changing the agreement', () => {
    const contract = testIspContract();
    const restamped = {
      ...contract,
      meta: { versionId: '7', lastUpdated: '2026-03-01T00:00:00Z' },
      status: 'executed' as const,
      text: { status: 'generated' as const, div: '<div xmlns="http://www.w3.org/1999/xhtml">ISP</div>' },
      signer: [{ type: { code: 'x' }, party: { reference: 'Organization/test-nhs' }, signature: [] }],
    };
    expect(ispDigest(restamped)).toBe(ispDigest(contract));
    expect(ispCanonicalContent(restamped)).not.toContain('versionId');
  });

  it('Changes when a flow, partner or review date changes', () => {
    const contract = testIspContract();
    const base = ispDigest(contract);
    expect(ispDigest({ ...contract, applies: { ...contract.applies, end: '2030-01-31' } })).not.toBe(base);
    expect(ispDigest({ ...contract, authority: contract.authority!.slice(1) })).not.toBe(base);
    expect(ispDigest({ ...contract, term: contract.term!.slice(1) })).not.toBe(base);
  });

  it('Is base64url SHA-256 (43 characters, no padding)', () => {
    expect(ispDigest(testIspContract())).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });
});
