import { createHash } from 'node:crypto';
import { AUDIT_VOCABULARY, AUDIT_VOCABULARY_VERSION, REFERENCE_OPEN, expandStoredEvent, vocabularyDocument, vocabularyReference } from './vocabulary.js';
import { canonicalJson } from '../canonical-json.js';

describe('audit vocabulary', () => {
  it('keeps version 1 as it was written, for ever: entries name its fragments by number (its document\'s SHA-256 is pinned)', () => {
    const document = vocabularyDocument(1);
    expect(createHash('sha256').update(document).digest('hex')).toBe('3da5f81bb729f9ac6c7fc9ade61f720d15578ef925c9d1bc59d143d8eeabdd50');
    expect(JSON.parse(document)).toEqual({ version: 1, fragments: AUDIT_VOCABULARY.slice(0, 172).map((text) => JSON.parse(text) as unknown) });
    expect(AUDIT_VOCABULARY_VERSION).toBeGreaterThanOrEqual(1);
    expect(() => vocabularyDocument(AUDIT_VOCABULARY_VERSION + 1)).toThrow(RangeError);
  });

  it('holds each fragment once, as canonical JSON, with no reference in it', () => {
    expect(new Set(AUDIT_VOCABULARY).size).toBe(AUDIT_VOCABULARY.length);
    for (const text of AUDIT_VOCABULARY) {
      expect(canonicalJson(JSON.parse(text))).toBe(text);
      expect(text).not.toContain(REFERENCE_OPEN);
    }
  });

  it('names a fragment by its number, and nothing it does not hold', () => {
    expect(vocabularyReference(AUDIT_VOCABULARY[7]!)).toEqual({ '#': 7 });
    expect(canonicalJson(vocabularyReference(AUDIT_VOCABULARY[7]!))).toBe('{"#":7}');
    expect(vocabularyReference('{"code":"not-a-fragment"}')).toBeUndefined();
  });

  it('expands every reference of a stored event to its fragment, and leaves the rest byte for byte', () => {
    const stored = `{"a":{"#":0},"b":[{"#":12},{"#":171}],"c":"{\\"#\\":1}","d":{"#":3}}`;
    expect(expandStoredEvent(stored)).toBe(`{"a":${AUDIT_VOCABULARY[0]},"b":[${AUDIT_VOCABULARY[12]},${AUDIT_VOCABULARY[171]}],"c":"{\\"#\\":1}","d":${AUDIT_VOCABULARY[3]}}`);
    expect(expandStoredEvent('{"action":"R"}')).toBe('{"action":"R"}');
  });

  it('refuses a reference it does not hold or not written the one way references are written', () => {
    for (const bad of ['{"#":999999}', '{"#":07}', '{"#":}', '{"#":1 }', '{"#":-1}', '{"#":"1"}']) {
      expect(() => expandStoredEvent(`{"a":${bad}}`)).toThrow(/reference the audit vocabulary/);
    }
  });
});
