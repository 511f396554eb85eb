/**
 * Mutations of a valid request — a FHIR body or a query — for fuzz tests: a valid body reaches the
 * operation's own logic, and one to three small changes to it (an element dropped, a value swapped
 * for an odd one of the same kind or of another kind, an array emptied, doubled or unwrapped) probe
 * that logic rather than the parser in front of it, which bodies generated from nothing rarely pass.
 * Not used by the services.
 */
import fc from 'fast-check';

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** Strings a client sends that code reading values trips on: empty, blank, huge, control and astral characters, separators, dates at their edges. */
const ODD_STRINGS = [
  '',
  ' ',
  '  padded  ',
  'x'.repeat(5000),
  '\u0000',
  '\u001f',
  'Ł\u0301ódź',
  '😀',
  '\ud800',
  'a|b',
  '|',
  '/',
  'Patient/',
  'Person/',
  'Task/',
  'Person/../x',
  '%',
  '*',
  '__proto__',
  'constructor',
  '2016-12-31T23:59:60Z',
  '2023-02-29',
  '2011',
  '2011-13',
  '0001-01-01',
  '9999-12-31T23:59:59+14:00',
  '-1',
  '1e400',
];

const ODD_NUMBERS = [0, -1, 1.5, 2 ** 31, -(2 ** 31) - 1, 1e308, Number.MAX_SAFE_INTEGER + 2];

/** A value of any kind that is odd somewhere: what a mutation puts in place of the one it replaces. */
export const oddValue: fc.Arbitrary<Json> = fc.oneof(
  fc.constantFrom<Json>(...ODD_STRINGS),
  fc.constantFrom<Json>(...ODD_NUMBERS),
  fc.constantFrom<Json>(null, true, false, [], {}, [null], [''], { '': '' }),
  fc.string({ maxLength: 12 }),
  fc.jsonValue({ maxDepth: 2 }) as fc.Arbitrary<Json>,
);

/** An odd value of the same JSON kind as `like` (a string for a string…), so the element's type still validates. */
function sameKind(like: Json, pick: number): Json {
  if (typeof like === 'string') return ODD_STRINGS[pick % ODD_STRINGS.length]!;
  if (typeof like === 'number') return ODD_NUMBERS[pick % ODD_NUMBERS.length]!;
  if (typeof like === 'boolean') return !like;
  if (Array.isArray(like)) return [];
  return {};
}

type Path = readonly (string | number)[];

/** Every path inside `value` (the root itself left out: the body stays a body). */
function pathsOf(value: Json, at: Path = []): Path[] {
  if (value === null || typeof value !== 'object') return [];
  const children: [string | number, Json][] = Array.isArray(value) ? value.map((v, i) => [i, v]) : Object.entries(value);
  return children.flatMap(([key, child]) => [[...at, key], ...pathsOf(child, [...at, key])]);
}

export interface Mutation {
  /** Which path (modulo how many there are). */
  readonly at: number;
  /** `borrow`: the value of another element of the same body (a merge's target made its source, a name made a postcode…). */
  readonly kind: 'drop' | 'same-kind' | 'other-kind' | 'borrow' | 'wrap' | 'unwrap' | 'double' | 'empty';
  readonly pick: number;
  readonly value: Json;
}

export const mutation: fc.Arbitrary<Mutation> = fc.record({
  at: fc.nat(),
  kind: fc.constantFrom('drop', 'same-kind', 'same-kind', 'other-kind', 'borrow', 'borrow', 'wrap', 'unwrap', 'double', 'empty'),
  pick: fc.nat(),
  value: oddValue,
});

/** `value` with the one mutation applied (a copy; `value` is not changed). */
export function mutated(value: Json, m: Mutation): Json {
  const copy = structuredClone(value);
  const paths = pathsOf(copy);
  if (paths.length === 0) return copy;
  const path = paths[m.at % paths.length]!;
  const parent = path.slice(0, -1).reduce<Json>((node, key) => (node as Record<string | number, Json>)[key]!, copy) as Record<string | number, Json> | Json[];
  const key = path[path.length - 1]!;
  const current = (parent as Record<string | number, Json>)[key]!;
  const set = (v: Json) => {
    (parent as Record<string | number, Json>)[key] = v;
  };
  switch (m.kind) {
    case 'drop':
      if (Array.isArray(parent)) parent.splice(key as number, 1);
      else delete (parent as Record<string, Json>)[key as string];
      break;
    case 'same-kind':
      set(sameKind(current, m.pick));
      break;
    case 'other-kind':
      set(m.value);
      break;
    case 'borrow': {
      const donor = paths[m.pick % paths.length]!.reduce<Json>((node, k) => (node as Record<string | number, Json>)[k]!, copy);
      set(structuredClone(donor));
      break;
    }
    case 'wrap':
      set([current]);
      break;
    case 'unwrap':
      set(Array.isArray(current) ? (current[0] ?? null) : current);
      break;
    case 'double':
      if (Array.isArray(current)) set([...current, ...current]);
      else if (Array.isArray(parent)) parent.splice(key as number, 0, structuredClone(current));
      else set(current);
      break;
    case 'empty':
      set(Array.isArray(current) ? [] : typeof current === 'string' ? '' : current !== null && typeof current === 'object' ? {} : null);
      break;
  }
  return copy;
}

/** One to three mutations of `valid`. */
export function mutationsOf(valid: Json): fc.Arbitrary<Json> {
  return fc.array(mutation, { minLength: 1, maxLength: 3 }).map((ms) => ms.reduce(mutated, valid));
}

/**
 * A query string built from `valid` (name → value) with one to three changes: a value swapped for an
 * odd one, a parameter dropped, given twice, or an unknown one added.
 */
export function queryMutationsOf(valid: Readonly<Record<string, string>>): fc.Arbitrary<string> {
  const change = fc.record({
    at: fc.nat(),
    kind: fc.constantFrom('odd', 'odd', 'drop', 'twice', 'unknown', 'borrow'),
    pick: fc.nat(),
    value: fc.oneof(fc.constantFrom(...ODD_STRINGS.filter((s) => s.length < 100)), fc.string({ maxLength: 12 })),
  });
  return fc.array(change, { minLength: 1, maxLength: 3 }).map((changes) => {
    const pairs: [string, string][] = Object.entries(valid);
    for (const c of changes) {
      const i = pairs.length === 0 ? -1 : c.at % pairs.length;
      if (c.kind === 'unknown' || i < 0) pairs.push([c.value || 'x', c.value]);
      else if (c.kind === 'odd') pairs[i] = [pairs[i]![0], c.value];
      else if (c.kind === 'drop') pairs.splice(i, 1);
      else if (c.kind === 'borrow') pairs[i] = [pairs[i]![0], pairs[c.pick % pairs.length]![1]];
      else pairs.push([pairs[i]![0], c.value]);
    }
    const text = pairs.map(([k, v]) => `${encodeOrKeep(k)}=${encodeOrKeep(v)}`).join('&');
    return text ? `?${text}` : '';
  });
}

/** Percent-encoded as UTF-8; a lone surrogate (not encodable) is sent as its raw escape, which the server must refuse. */
function encodeOrKeep(text: string): string {
  try {
    return encodeURIComponent(text);
  } catch {
    return '%ED%A0%80';
  }
}
