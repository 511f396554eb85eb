import fc from 'fast-check';
import { formBodyProblem, jsonBodyProblem, jsonPathsAt, MAX_JSON_DEPTH, MAX_NUMBER_SPELLINGS, urlProblem, type NumberSpelling } from './input-guard.js';

const bytes = (text: string) => Buffer.from(text, 'utf8');
const nested = (depth: number, open = '[', close = ']') => `${open.repeat(depth)}${close.repeat(depth)}`;

describe('jsonBodyProblem', () => {
  it('passes an ordinary FHIR resource', () => {
    const patient = { resourceType: 'Patient', name: [{ given: ['Róisín'], family: 'Ó Briain' }], extension: [{ url: 'x', valueString: 'a "quoted" \\ text' }] };
    expect(jsonBodyProblem(bytes(JSON.stringify(patient)))).toBeUndefined();
  });

  it(`refuses nesting deeper than ${MAX_JSON_DEPTH} arrays or objects, counting both`, () => {
    expect(jsonBodyProblem(bytes(nested(MAX_JSON_DEPTH)))).toBeUndefined();
    expect(jsonBodyProblem(bytes(nested(MAX_JSON_DEPTH + 1)))).toMatch(/deeper than 100/);
    expect(jsonBodyProblem(bytes(nested(10_000, '{"a":', '}')))).toMatch(/deeper/);
    expect(jsonBodyProblem(bytes(`{"a":${nested(60)},"b":${nested(60, '{"x":', '}')}}`))).toBeUndefined();
  });

  it('does not count brackets inside strings, escaped quotes included', () => {
    expect(jsonBodyProblem(bytes(JSON.stringify({ text: '['.repeat(500) + '"\\"{{{' })))).toBeUndefined();
  });

  it('refuses bytes that are not UTF-8 instead of replacing them', () => {
    const body = Buffer.concat([bytes('{"value":"SW-'), Buffer.from([0xff, 0xfe]), bytes('"}')]);
    expect(jsonBodyProblem(body)).toMatch(/not valid UTF-8/);
    expect(jsonBodyProblem(Buffer.from([0x22, 0xc0, 0xaf, 0x22]))).toMatch(/UTF-8/); // overlong "/"
  });

  it('refuses a key given twice in one object, however it is spelled, and only within one object', () => {
    expect(jsonBodyProblem(bytes('{"resourceType":"Basic","resourceType":"Organization"}'))).toMatch(/"resourceType" appears twice/);
    expect(jsonBodyProblem(bytes('{"id":"a", "x":{"id":"b"}, "\\u0069d":"c"}'))).toMatch(/"id" appears twice/);
    expect(jsonBodyProblem(bytes('{"name":[{"family":"a"},{"family":"b"}],"x":{"family":"c"},"family":"d"}'))).toBeUndefined();
    expect(jsonBodyProblem(bytes('{"a":"b","b":"a","ab":"ba","ba":"ab"}'))).toBeUndefined();
    // Objects of very many keys are compared as text: still found, and not quadratic.
    const many = Array.from({ length: 100_000 }, (_, i) => `"k${i}":${i}`);
    expect(jsonBodyProblem(bytes(`{${many.join(',')}}`))).toBeUndefined();
    expect(jsonBodyProblem(bytes(`{${many.join(',')},"k99999":1}`))).toMatch(/"k99999" appears twice/);
  });

  it('refuses escaped control characters FHIR strings exclude, and keeps tab, line feed and carriage return', () => {
    for (const escape of ['\\u0000', '\\u001f', '\\b', '\\f', '\\u000B']) expect(jsonBodyProblem(bytes(`{"value":"a${escape}b"}`))).toMatch(/control character/);
    expect(jsonBodyProblem(bytes('{"value":"a\\tb\\nc\\rd\\u0009"}'))).toBeUndefined();
    // An escaped backslash followed by a letter is text, not an escape.
    expect(jsonBodyProblem(bytes('{"value":"C:\\\\bin"}'))).toBeUndefined();
  });

  it('refuses a lone surrogate escape but keeps a well-formed pair', () => {
    expect(jsonBodyProblem(bytes('{"value":"a\\ud800b"}'))).toMatch(/lone surrogate/);
    expect(jsonBodyProblem(bytes('{"value":"\\udc00"}'))).toMatch(/lone surrogate/);
    expect(jsonBodyProblem(bytes('{"value":"\\ud83d\\ude00"}'))).toBeUndefined();
  });

  it('refuses prototype keys anywhere, however they are spelled, but not as values', () => {
    expect(jsonBodyProblem(bytes('{"resourceType":"Organization","__proto__":{"admin":true}}'))).toMatch(/__proto__/);
    expect(jsonBodyProblem(bytes('{"a":[{"constructor" : {"prototype":{"x":1}}}]}'))).toMatch(/constructor/);
    expect(jsonBodyProblem(bytes('{"a":{"prototype":1}}'))).toMatch(/prototype/);
    expect(jsonBodyProblem(bytes('{"\\u005f_proto__":{}}'))).toMatch(/__proto__/);
    expect(jsonBodyProblem(bytes('{"name":"__proto__","text":["constructor"]}'))).toBeUndefined();
  });

  it('leaves syntax errors to the JSON parser', () => {
    expect(jsonBodyProblem(bytes('{"a": "unterminated'))).toBeUndefined();
    expect(jsonBodyProblem(bytes('{"a\\x": 1}'))).toBeUndefined();
  });
});

describe('numbers JSON.parse does not read back as written', () => {
  const spellings = (text: string) => {
    const found: NumberSpelling[] = [];
    expect(jsonBodyProblem(bytes(text), MAX_JSON_DEPTH, found)).toBeUndefined();
    return found;
  };

  it('finds 2.0, 1e2, -0 and their kin outside strings, and nothing else', () => {
    const body = '{"a":2.0,"b":1e2,"c":-0,"d":2.5,"e":-1,"f":0,"g":"2.0 1e2 -0","h":[1E+2,true,false,null,10],"i":-0.0,"j":12.50e1,"k":1e-2,"l":-10}';
    expect(spellings(body).filter((s) => s.integral).map((s) => s.text)).toEqual(['2.0', '1e2', '-0', '1E+2', '-0.0', '12.50e1']);
    expect(spellings(body).filter((s) => !s.integral).map((s) => s.text)).toEqual(['1e-2']);
    expect(spellings('{"resourceType":"Patient","multipleBirthInteger":2,"name":[{"family":"x"}]}')).toEqual([]);
  });

  it('finds decimals whose spelling is a precision JSON.parse drops, not those read back as written', () => {
    const body =
      '{"a":1.50,"b":1.5,"c":0.1000,"d":[12345678.123456789,1234567890123456789,123456789012345,-2.5],"e":"1.50",' +
      '"f":[0.0000001,-0.00000012,0.000001,-0.5,123456789012.345,1234567890123.456,0.30000000000000004]}';
    expect(spellings(body).map((s) => [s.text, s.integral])).toEqual([
      ['1.50', false],
      ['0.1000', false],
      ['12345678.123456789', false],
      ['1234567890123456789', false],
      ['0.0000001', false],
      ['-0.00000012', false],
    ]);
  });

  it('notes a number exactly when JSON.stringify would not write it back as written (any spelling JSON allows)', () => {
    const digits = (min: number, max: number) => fc.array(fc.constantFrom('0', '1', '2', '5', '9'), { minLength: min, maxLength: max }).map((d) => d.join(''));
    const token = fc
      .tuple(fc.boolean(), fc.oneof(fc.constant('0'), fc.tuple(fc.constantFrom('1', '3', '9'), digits(0, 18)).map(([a, b]) => a + b)), fc.option(digits(1, 20)), fc.option(fc.tuple(fc.constantFrom('e', 'E'), fc.constantFrom('', '+', '-'), digits(1, 3))))
      .map(([minus, whole, fraction, exponent]) => `${minus ? '-' : ''}${whole}${fraction === null ? '' : `.${fraction}`}${exponent === null ? '' : exponent.join('')}`);
    fc.assert(
      fc.property(fc.array(token, { minLength: 1, maxLength: 8 }), (tokens) => {
        const noted = spellings(`{"v":[${tokens.join(',')}]}`).map((s) => s.text);
        expect(noted).toEqual(tokens.filter((t) => String(Number(t)) !== t));
      }),
      { numRuns: 2000 },
    );
  });

  it('notes at most MAX_NUMBER_SPELLINGS of them (a body of decimals is not held twice over)', () => {
    expect(spellings(`{"valueQuantity":[${Array.from({ length: 3 * MAX_NUMBER_SPELLINGS }, () => '1.0').join(',')}]}`)).toHaveLength(MAX_NUMBER_SPELLINGS);
  });

  it('says where each is: keys and array indexes from the root', () => {
    const body = '{"resourceType":"Parameters","parameter":[{"name":"a\\"b","valueString":"x,[{"},{"name":"count","valueInteger":2.0}],"x":{"y":[[0,1e2]]}}';
    const found = spellings(body);
    expect(jsonPathsAt(bytes(body), found.map((f) => f.offset))).toEqual([
      ['parameter', 1, 'valueInteger'],
      ['x', 'y', 0, 1],
    ]);
  });
});

describe('urlProblem', () => {
  it('passes ordinary FHIR URLs, with encoded UTF-8 and reserved characters', () => {
    expect(urlProblem('/fhir/Patient/abc-1.2')).toBeUndefined();
    expect(urlProblem('/fhir/Patient?family=%C3%93%20Briain&identifier=https%3A%2F%2Fx%7CSW-1')).toBeUndefined();
    expect(urlProblem('/fhir/Organization?name=a+b')).toBeUndefined();
  });

  it('refuses bad percent-encoding in the path and in the query', () => {
    expect(urlProblem('/fhir/Organization/%ZZ')).toMatch(/URL path/);
    expect(urlProblem('/fhir/Organization/%E0%A4%A')).toMatch(/URL path/);
    expect(urlProblem('/fhir/Organization?name=%')).toMatch(/query string/);
  });

  it('refuses percent-encoded bytes that are not UTF-8 rather than decoding them lossily', () => {
    expect(urlProblem('/fhir/Patient?identifier=x%7CSW-%FF')).toMatch(/not UTF-8/);
    expect(urlProblem('/fhir/Patient/%C0%AF')).toMatch(/not UTF-8/);
    expect(urlProblem('/fhir/Patient/%ED%A0%80')).toMatch(/not UTF-8/);
  });

  it('refuses raw characters that must be percent-encoded', () => {
    expect(urlProblem('/fhir/Patient/é')).toMatch(/must be percent-encoded/);
    expect(urlProblem('/fhir/Patient/a\u0000')).toMatch(/must be percent-encoded/);
  });
});

describe('formBodyProblem', () => {
  it('passes an OAuth token request', () => {
    expect(formBodyProblem(bytes('grant_type=client_credentials&scope=system%2FPatient.read+system%2FTask.read'))).toBeUndefined();
  });

  it('refuses bad percent-encoding, bytes that are not UTF-8 and prototype keys', () => {
    expect(formBodyProblem(bytes('scope=%ZZ'))).toMatch(/percent-encoding/);
    expect(formBodyProblem(Buffer.from([0x61, 0x3d, 0xff]))).toMatch(/UTF-8/);
    expect(formBodyProblem(bytes('__proto__=x'))).toMatch(/__proto__/);
  });
});
