import { canonicalJson } from './canonical-json.js';

describe('canonicalJson', () => {
  it('writes keys sorted at every depth and no whitespace, so the same value always gives the same bytes', () => {
    expect(canonicalJson({ b: 1, a: { d: [true, null], c: 'x' } })).toBe('{"a":{"c":"x","d":[true,null]},"b":1}');
    expect(canonicalJson({ a: { c: 'x', d: [true, null] }, b: 1 })).toBe(canonicalJson({ b: 1, a: { d: [true, null], c: 'x' } }));
  });

  it('drops undefined members and writes undefined array items and holes as null, as JSON.stringify does', () => {
    // eslint-disable-next-line no-sparse-arrays
    const value = { gone: undefined, list: [1, , undefined, 'a"\u2028'], empty: {}, none: [] };
    expect(canonicalJson(value)).toBe('{"empty":{},"list":[1,null,null,"a\\"\u2028"],"none":[]}');
    expect(JSON.parse(canonicalJson(value))).toEqual(JSON.parse(JSON.stringify(value)));
  });

  it('refuses what JSON cannot carry rather than guessing', () => {
    expect(() => canonicalJson({ n: Number.NaN })).toThrow(TypeError);
    expect(() => canonicalJson({ f: () => 1 })).toThrow(TypeError);
    expect(() => canonicalJson(10n)).toThrow(TypeError);
  });
});
