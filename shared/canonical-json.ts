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
 *
 * Every exchange's audit entry goes through it (an AuditEvent of ~4 kB per request), so what it
 * allocates is paid on every request: the value is put in key order — objects already in order are
 * used as they are, others copied with their keys sorted (by hand when few: the built-in sort
 * allocates a work array per call) — and written by `JSON.stringify`, which builds the one output
 * string natively. About a fifth of the garbage the hand-written writer below made, and faster.
 * Anything `JSON.stringify` would write differently from the rule above (a non-finite number, a
 * function, a class instance such as a Date, an integer-like key, which it would put first, a
 * `__proto__` key) goes to that writer, which throws or writes it the canonical way.
 */
export function canonicalJson(value: unknown): string {
  const inOrder = inKeyOrder(value);
  return inOrder === NOT_PLAIN ? canonicalJsonByHand(value) : JSON.stringify(inOrder);
}

/** A value `inKeyOrder` leaves to the hand-written writer. */
const NOT_PLAIN: unique symbol = Symbol('not plain JSON');

/** Objects with at most this many keys are sorted by insertion (no allocation); more by the built-in sort. */
const FEW_KEYS = 24;

/**
 * The value with every object's keys in sorted order (the value itself where they already are),
 * or NOT_PLAIN when `JSON.stringify` would not write it as canonical JSON.
 */
function inKeyOrder(value: unknown): unknown {
  if (typeof value !== 'object') {
    if (typeof value === 'string' || typeof value === 'boolean') return value;
    return typeof value === 'number' && Number.isFinite(value) ? value : NOT_PLAIN;
  }
  if (value === null) return value;
  if (Array.isArray(value)) {
    if (Object.getPrototypeOf(value) !== Array.prototype) return NOT_PLAIN;
    let copy: unknown[] | undefined;
    for (let i = 0; i < value.length; i++) {
      const item: unknown = value[i];
      const ordered = item === undefined ? item : inKeyOrder(item);
      if (ordered === NOT_PLAIN) return NOT_PLAIN;
      if (copy === undefined && ordered !== item) copy = value.slice(0, i);
      copy?.push(ordered);
    }
    return copy ?? value;
  }
  const prototype: unknown = Object.getPrototypeOf(value);
  if (prototype !== Object.prototype && prototype !== null) return NOT_PLAIN;
  const record = value as Record<string, unknown>;
  let previous = '';
  let count = 0;
  let sorted = true;
  for (const key in record) {
    // JSON.stringify writes integer-like keys first; a `__proto__` member cannot be copied as one.
    const first = key.charCodeAt(0);
    if ((first >= 48 && first <= 57) || key === '__proto__') return NOT_PLAIN;
    if (count > 0 && !(previous < key)) sorted = false;
    previous = key;
    count++;
  }
  return sorted ? orderedMembers(record) : sortedCopy(record);
}

/** An object whose keys are in order: itself, or a copy from the first member that changed. */
function orderedMembers(record: Record<string, unknown>): unknown {
  let copy: Record<string, unknown> | undefined;
  let index = 0;
  for (const key in record) {
    const member = record[key];
    if (member !== undefined) {
      const ordered = inKeyOrder(member);
      if (ordered === NOT_PLAIN) return NOT_PLAIN;
      if (copy === undefined && ordered !== member) {
        copy = {};
        let earlier = 0;
        for (const before in record) {
          if (earlier++ >= index) break;
          if (record[before] !== undefined) copy[before] = record[before];
        }
      }
      if (copy !== undefined) copy[key] = ordered;
    }
    index++;
  }
  return copy ?? record;
}

function sortedCopy(record: Record<string, unknown>): unknown {
  const keys = Object.keys(record);
  sortKeys(keys);
  const copy: Record<string, unknown> = {};
  for (const key of keys) {
    const member = record[key];
    if (member === undefined) continue;
    const ordered = inKeyOrder(member);
    if (ordered === NOT_PLAIN) return NOT_PLAIN;
    copy[key] = ordered;
  }
  return copy;
}

/** Sorts by UTF-16 code units, as `Array.prototype.sort` does by default. */
function sortKeys(keys: string[]): void {
  if (keys.length > FEW_KEYS) {
    keys.sort();
    return;
  }
  for (let i = 1; i < keys.length; i++) {
    const key = keys[i]!;
    let j = i - 1;
    while (j >= 0 && keys[j]! > key) {
      keys[j + 1] = keys[j]!;
      j--;
    }
    keys[j + 1] = key;
  }
}

/**
 * The canonical writer by hand, for what `JSON.stringify` cannot be trusted with (see `canonicalJson`).
 * Written with plain loops and string appends: keys already in order are not sorted again, and quoted
 * keys are reused.
 */
function canonicalJsonByHand(value: unknown): string {
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
          items += `${i === 0 ? '' : ','}${item === undefined ? 'null' : canonicalJsonByHand(item)}`;
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
        members += `${members === '' ? '' : ','}${quotedKey(key)}:${canonicalJsonByHand(member)}`;
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
