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
 * twice the time and most of a registration chunk's audit work; keys already in order are
 * not sorted again, and quoted keys are reused (another third off).
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
      // Objects built in code often have their keys in order already: sorted only when they are not.
      const keys = Object.keys(record);
      let sorted = true;
      for (let i = 1; i < keys.length && sorted; i++) sorted = keys[i - 1]! < keys[i]!;
      if (!sorted) keys.sort();
      let members = '';
      for (const key of keys) {
        const member = record[key];
        if (member === undefined) continue;
        members += `${members === '' ? '' : ','}${quotedKey(key)}:${canonicalJson(member)}`;
      }
      return `{${members}}`;
    }
    default:
      throw new TypeError(`Canonical JSON cannot carry a ${typeof value}`);
  }
}

/**
 * Keys quoted as JSON, kept for the few hundred distinct keys the hub's documents use (an audit
 * entry of 500 records quotes the same dozen keys thousands of times); bounded, so arbitrary
 * keys cannot grow it.
 */
const QUOTED_KEYS = new Map<string, string>();
const MAX_QUOTED_KEYS = 4096;

function quotedKey(key: string): string {
  let quoted = QUOTED_KEYS.get(key);
  if (quoted === undefined) {
    quoted = JSON.stringify(key);
    if (QUOTED_KEYS.size < MAX_QUOTED_KEYS) QUOTED_KEYS.set(key, quoted);
  }
  return quoted;
}
