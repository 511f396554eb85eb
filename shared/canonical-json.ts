/**
 * Canonical JSON: object keys sorted at every depth, no whitespace, `undefined`
 * members dropped — the same value always gives the same bytes. What is signed
 * (ISP content), hash-chained (audit entries) and compared (store content
 * hashes) is serialised with this one function. It is RFC 8785's key ordering
 * for the data we have (ASCII keys, finite numbers); values JSON cannot carry
 * are refused rather than guessed at.
 */
/**
 * Deterministic JSON: sorted keys, no whitespace. Throws on values JSON cannot carry.
 * Written with plain loops and string appends: it serialises every audit entry (a bulk
 * load's change record lists 500 records), and the filter/sort/map/join version cost
 * twice the time and most of a registration chunk's audit work.
 */
export function canonicalJson(value: unknown): string {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'string':
      return JSON.stringify(value);
    case 'boolean':
      return value ? 'true' : 'false';
    case 'number':
      if (!Number.isFinite(value)) throw new TypeError('Canonical JSON cannot carry a non-finite number');
      return JSON.stringify(value);
    case 'object': {
      if (Array.isArray(value)) {
        // Array holes and undefined items become null, as JSON.stringify writes them.
        let items = '';
        for (let i = 0; i < value.length; i++) {
          const item: unknown = value[i];
          items += `${i === 0 ? '' : ','}${item === undefined ? 'null' : canonicalJson(item)}`;
        }
        return `[${items}]`;
      }
      const record = value as Record<string, unknown>;
      let members = '';
      for (const key of Object.keys(record).sort()) {
        const member = record[key];
        if (member === undefined) continue;
        members += `${members === '' ? '' : ','}${JSON.stringify(key)}:${canonicalJson(member)}`;
      }
      return `{${members}}`;
    }
    default:
      throw new TypeError(`Canonical JSON cannot carry a ${typeof value}`);
  }
}
