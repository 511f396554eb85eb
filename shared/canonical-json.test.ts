import fc from 'fast-check';
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

  it('writes the same bytes as the rule written out plainly, whatever the value (keys out of order, integer-like, __proto__, unicode, holes, undefined)', () => {
    const key = fc.oneof(fc.constantFrom('a', 'b', 'B', '_', '0', '10', '2', '2a', '__proto__', 'constructor', 'toJSON', 'é', '\u{1F600}', ''), fc.string({ maxLength: 6 }));
    const { value } = fc.letrec((tie) => ({
      value: fc.oneof(
        { depthSize: 'small', withCrossShrink: true },
        fc.constantFrom(null, true, false, 0, -0, 1.5, -1e21, 'x', '', 'a"\\\n\u2028\ud800', undefined),
        fc.integer(),
        fc.double({ noNaN: true, noDefaultInfinity: true }),
        fc.string(),
        fc.array(tie('value'), { maxLength: 5 }),
        fc.dictionary(key, tie('value'), { maxKeys: 6 }),
      ),
    }));
    fc.assert(
      fc.property(value, (v) => {
        if (v === undefined) return;
        expect(canonicalJson(v)).toBe(plainCanonicalJson(v));
      }),
      { numRuns: 2000 },
    );
  });
});

/** The rule written out plainly (slow, obviously right): keys sorted at every depth, primitives as JSON.stringify writes them. */
function plainCanonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${Array.from(value, (item: unknown) => (item === undefined ? 'null' : plainCanonicalJson(item))).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const record = value as Record<string, unknown>;
    const members = Object.keys(record)
      .sort()
      .filter((k) => record[k] !== undefined)
      .map((k) => `${JSON.stringify(k)}:${plainCanonicalJson(record[k])}`);
    return `{${members.join(',')}}`;
  }
  return JSON.stringify(value);
}
