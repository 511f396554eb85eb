/**
 * FHIR decimals keep the precision they were written with (R4 datatypes §2.24.0.1: "the precision of the decimal
 * value has significance"; `1.50` is not `1.5`), which JSON.parse and JSON.stringify drop: `1.50` reads as 1.5 and is
 * written back as `1.5`. Here a number's spelling, when JSON would not write it back as it came (input-guard.ts's
 * NumberSpelling), is kept beside the object that holds it — a number stays a number for everything that reads the
 * resource — and written back by `stringifyKeepingSpellings` while the value is still the one spelt.
 *
 * Kept from a request body (the body parser: express.ts) and from stored JSON (`parseKeepingSpellings`: the shared
 * resource store), written by the store and by every FHIR answer (`respond`). An object copied key by key (`{...r}`)
 * is a new holder: `copySpellings` carries them over where a copy is stored (the store's versioned JSON).
 */
import { jsonBodyProblem, jsonPathsAt, type NumberSpelling } from '../http/input-guard.js';
import { isJsonObject } from '../json-object.js';

/** Per holding object (a JSON object or array): key (an array's index as text) → the number as written. */
const spellings = new WeakMap<object, Map<string, string>>();

/** Holders alive with spellings: none (the usual case), and stringifying is JSON.stringify itself. */
let holders = 0;
const forgotten = new FinalizationRegistry<undefined>(() => {
  holders--;
});

function keep(holder: object, key: string, text: string): void {
  let kept = spellings.get(holder);
  if (!kept) {
    kept = new Map();
    spellings.set(holder, kept);
    holders++;
    forgotten.register(holder, undefined);
  }
  kept.set(key, text);
}

/** Keeps the spelling of each number at its path (keys and array indexes from the root) in a parsed JSON value. */
export function keepSpellings(root: unknown, found: readonly { readonly path: readonly (string | number)[]; readonly text: string }[]): void {
  for (const { path, text } of found) {
    let holder: unknown = root;
    for (let k = 0; k < path.length - 1 && holder !== undefined; k++) {
      const step = path[k]!;
      holder = Array.isArray(holder) ? holder[step as number] : isJsonObject(holder) && Object.hasOwn(holder, step) ? holder[step] : undefined;
    }
    const last = path[path.length - 1];
    if (last === undefined || typeof holder !== 'object' || holder === null) continue;
    const value = (holder as Record<string, unknown>)[last];
    if (typeof value === 'number' && value === Number(text)) keep(holder, String(last), text);
  }
}

/** `from`'s kept spellings, for `to` too (a copy of its keys: `{ ...from }`, a rest destructuring). */
export function copySpellings(from: object, to: object): void {
  const kept = spellings.get(from);
  if (kept) for (const [key, text] of kept) keep(to, key, text);
}

/**
 * A possible number token of JSON.stringify's output (no whitespace: after `:`, `[` or `,`, before `,`, `]` or `}`)
 * that it would not have written: a fraction ending in 0, an exponent, `-0`, 16 or more digits. A string can match
 * too (`"a:1.50,"`); a match only sends the text to the exact scan.
 */
const RESPELT_CANDIDATE = /[:,[](?:-?\d+\.\d*0|-?\d[\d.]*[eE][+-]?\d+|-0|-?[\d.]{16,})(?=[,\]}])/;

/** JSON.parse of text that holds a resource, keeping the spellings of its numbers (stored JSON: written by `stringifyKeepingSpellings`). */
export function parseKeepingSpellings(text: string): unknown {
  const value = JSON.parse(text) as unknown;
  if (typeof value !== 'object' || value === null || !RESPELT_CANDIDATE.test(text)) return value;
  const bytes = Buffer.from(text);
  const found: NumberSpelling[] = [];
  jsonBodyProblem(bytes, Number.MAX_SAFE_INTEGER, found);
  if (found.length === 0) return value;
  const paths = jsonPathsAt(bytes, found.map((f) => f.offset));
  if (paths) keepSpellings(value, found.map((f, i) => ({ path: paths[i]!, text: f.text })));
  return value;
}

/** Marks a spelt number in JSON.stringify's output: the replacer writes it as a string, then it is unquoted. A per-process nonce: no client string can spell it. */
const MARK = `\uE000${Math.random().toString(36).slice(2)}${Math.random().toString(36).slice(2)}:`;
const MARKED = new RegExp(`"${MARK}([^"]*)\uE000"`, 'g');

/** Whether any object alive in the process holds a kept spelling (when none does, `stringifyKeepingSpellings` is JSON.stringify). */
export function spellingsKept(): boolean {
  return holders > 0;
}

/** JSON.stringify, writing each number whose spelling was kept as it was written (`1.50`), while its value is unchanged. */
export function stringifyKeepingSpellings(value: unknown): string {
  if (holders === 0) return JSON.stringify(value);
  let marked = false;
  const json = JSON.stringify(value, function (this: unknown, key: string, v: unknown) {
    if (typeof v !== 'number') return v;
    const text = spellings.get(this as object)?.get(key);
    if (text === undefined || Number(text) !== v) return v;
    marked = true;
    return `${MARK}${text}\uE000`;
  });
  return marked ? json.replace(MARKED, '$1') : json;
}
