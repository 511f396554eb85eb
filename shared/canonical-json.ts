/**
 * Canonical JSON: object keys sorted at every depth, no whitespace, `undefined`
 * members dropped — the same value always gives the same bytes. What is signed
 * (ISP content), hash-chained (audit entries) and compared (store content
 * hashes) is serialised with this one function. It is RFC 8785's key ordering
 * for the data we have (ASCII keys, finite numbers); values JSON cannot carry
 * are refused rather than guessed at.
 */
/** Deterministic JSON: sorted keys, no whitespace. Throws on values JSON cannot carry. */
export function canonicalJson(value: unknown): string {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return JSON.stringify(value);
    case 'number':
      if (!Number.isFinite(value)) throw new TypeError('Canonical JSON cannot carry a non-finite number');
      return JSON.stringify(value);
    case 'object': {
      if (Array.isArray(value)) {
        // Array holes and undefined items become null, as JSON.stringify writes them.
        return `[${Array.from(value, (item) => (item === undefined ? 'null' : canonicalJson(item))).join(',')}]`;
      }
      const record = value as Record<string, unknown>;
      const members = Object.keys(record)
        .filter((key) => record[key] !== undefined)
        .sort()
        .map((key) => `${JSON.stringify(key)}:${canonicalJson(record[key])}`);
      return `{${members.join(',')}}`;
    }
    default:
      throw new TypeError(`Canonical JSON cannot carry a ${typeof value}`);
  }
}
