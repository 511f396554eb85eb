import { copySpellings, keepSpellings, parseKeepingSpellings, stringifyKeepingSpellings } from './number-spelling.js';

describe('a decimal keeps the precision it was written with (1.50 is not 1.5)', () => {
  it('writes back a parsed JSON text as it came: fractions ending in 0, exponents, -0, long digits', () => {
    const text = '{"resourceType":"Observation","valueQuantity":{"value":1.50,"unit":"mg"},"component":[{"valueQuantity":{"value":2.0}},{"valueQuantity":{"value":1e-7}}],"x":[-0,0.1000,12345678.123456789,7,1.5,0],"note":[{"text":":1.50,"}]}';
    const value = parseKeepingSpellings(text);
    expect(stringifyKeepingSpellings(value)).toBe(text);
    expect(JSON.stringify(value)).not.toBe(text); // the numbers are still numbers: JSON.stringify writes them its way
    expect((value as { valueQuantity: { value: number } }).valueQuantity.value).toBe(1.5);
  });

  it('writes a number changed since it was read as JS writes it, and copies keep the spellings only where asked', () => {
    const value = parseKeepingSpellings('{"a":{"v":1.50,"w":2.50},"b":1.10}') as { a: { v: number; w: number }; b: number };
    value.a.v = 1.25;
    expect(stringifyKeepingSpellings(value)).toBe('{"a":{"v":1.25,"w":2.50},"b":1.10}');
    const copy = { ...value };
    expect(stringifyKeepingSpellings(copy)).toBe('{"a":{"v":1.25,"w":2.50},"b":1.1}');
    copySpellings(value, copy);
    expect(stringifyKeepingSpellings(copy)).toBe('{"a":{"v":1.25,"w":2.50},"b":1.10}');
  });

  it('keeps spellings found at paths (the body parser’s), not where the value differs or the path leads nowhere', () => {
    const body = { a: [{ v: 1.5 }], b: 3 };
    keepSpellings(body, [
      { path: ['a', 0, 'v'], text: '1.50' },
      { path: ['b'], text: '2.0' },
      { path: ['c', 'd'], text: '1.0' },
      { path: ['__proto__', 'x'], text: '1.0' },
    ]);
    expect(stringifyKeepingSpellings(body)).toBe('{"a":[{"v":1.50}],"b":3}');
  });

  it('does not turn a string into a number, whatever it holds', () => {
    const value = parseKeepingSpellings('{"a":1.50,"s":"\uE0001.50\uE000","t":"1.50"}');
    expect(stringifyKeepingSpellings(value)).toBe('{"a":1.50,"s":"\uE0001.50\uE000","t":"1.50"}');
  });
});
