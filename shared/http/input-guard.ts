/**
 * What every request must be before anything reads it: checks on the raw bytes
 * of URLs and bodies, run before parsing (express.ts, service-app.ts), so
 * that no parser, validator or store ever sees input that could overflow a
 * stack, pollute an object's prototype, or be silently changed by decoding.
 *
 * - Bodies and URLs must be valid UTF-8 and URLs well percent-encoded. Lossy
 *   decoding (bad bytes → U+FFFD) would make two different identifiers the
 *   same record, so it is refused, never repaired.
 * - JSON may nest at most MAX_JSON_DEPTH arrays/objects deep (FHIR resources
 *   need a dozen or so; ten thousand would overflow a recursive validator).
 * - No key anywhere may be `__proto__`, `constructor` or `prototype`: none is a
 *   FHIR element, and each is a classic way into an object's prototype.
 * - JSON strings must be well-formed UTF-16: a lone surrogate escape
 *   (`"\ud800"`) would turn into U+FFFD on its way to Redis, the same lossy
 *   identity as a bad byte. Nor may they hold control characters FHIR strings
 *   exclude (an escaped NUL would end a C string in a receiving system).
 *
 * Each check answers with the problem (a sentence for the client) or undefined.
 */
import { isUtf8 } from 'node:buffer';

/** Deepest nesting of JSON arrays and objects a body may have. */
export const MAX_JSON_DEPTH = 100;

/** Keys refused anywhere in a body. */
export const FORBIDDEN_KEYS: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype']);

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COLON = 0x3a;
const OPEN_OBJECT = 0x7b;
const OPEN_ARRAY = 0x5b;
const CLOSE_OBJECT = 0x7d;
const CLOSE_ARRAY = 0x5d;
/** A high surrogate not followed by a low one, or a low one not preceded by a high one. */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
/** FHIR R4 strings (§2.24.0.1): no character below U+0020 except tab, LF and CR. Raw ones are already invalid JSON; this catches the escaped `\u0000`, `\b`, `\f`. */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const CONTROL_CHARACTER = /[\u0000-\u0008\u000B\u000C\u000E-\u001F]/;
const FORBIDDEN_KEY_LENGTHS = new Set([...FORBIDDEN_KEYS].map((k) => k.length));

/**
 * The first problem of a JSON body's raw bytes, in one pass and without
 * parsing: encoding, depth, forbidden keys, lone surrogates, control characters. Syntax errors are
 * left to JSON.parse (this scan only needs to find strings and brackets).
 */
export function jsonBodyProblem(body: Uint8Array, maxDepth = MAX_JSON_DEPTH): string | undefined {
  if (!isUtf8(body)) return 'The body is not valid UTF-8';
  const n = body.length;
  let depth = 0;
  for (let i = 0; i < n; i++) {
    const c = body[i];
    if (c === QUOTE) {
      const start = i;
      let escaped = false;
      for (i++; i < n && body[i] !== QUOTE; i++) {
        if (body[i] === BACKSLASH) {
          escaped = true;
          i++;
        }
      }
      const problem = stringProblem(body, start, i, escaped);
      if (problem) return problem;
    } else if (c === OPEN_OBJECT || c === OPEN_ARRAY) {
      if (++depth > maxDepth) return `The JSON nests deeper than ${maxDepth} levels`;
    } else if (c === CLOSE_OBJECT || c === CLOSE_ARRAY) {
      depth--;
    }
  }
  return undefined;
}

/** A string token from `start` (its opening quote) to `end` (its closing quote): a forbidden key, or not well-formed. */
function stringProblem(body: Uint8Array, start: number, end: number, escaped: boolean): string | undefined {
  const length = end - start - 1;
  if (!escaped && !FORBIDDEN_KEY_LENGTHS.has(length)) return undefined;
  const raw = Buffer.from(body.buffer, body.byteOffset + start, Math.min(end + 1, body.length) - start).toString('utf8');
  let text: string;
  try {
    text = JSON.parse(raw) as string;
  } catch {
    return undefined; // malformed: JSON.parse of the whole body refuses it
  }
  if (escaped && LONE_SURROGATE.test(text)) return 'A JSON string holds a lone surrogate (\\uD800-\\uDFFF escape), which is not text';
  if (escaped && CONTROL_CHARACTER.test(text)) return 'A JSON string holds a control character (an escape below \\u0020 other than tab, line feed or carriage return), which FHIR strings may not contain';
  if (FORBIDDEN_KEYS.has(text) && isKey(body, end + 1)) return `The key "${text}" is not allowed in a request body`;
  return undefined;
}

/** Whether the next non-whitespace byte from `from` is a colon (the string before it was an object key). */
function isKey(body: Uint8Array, from: number): boolean {
  for (let i = from; i < body.length; i++) {
    const c = body[i];
    if (c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d) continue;
    return c === COLON;
  }
  return false;
}

/** The first problem of an `application/x-www-form-urlencoded` body: encoding, percent-encoding, forbidden keys. */
export function formBodyProblem(body: Uint8Array): string | undefined {
  if (!isUtf8(body)) return 'The body is not valid UTF-8';
  const text = Buffer.from(body.buffer, body.byteOffset, body.length).toString('utf8');
  const problem = percentEncodingProblem(text, 'The form body');
  if (problem) return problem;
  for (const key of new URLSearchParams(text).keys()) {
    if (FORBIDDEN_KEYS.has(key)) return `The key "${key}" is not allowed in a request body`;
  }
  return undefined;
}

/**
 * The first problem of a request target (`/fhir/Patient/x?y=z`): characters
 * that must be percent-encoded, bad percent-encoding (`%ZZ`, `%E0%A4%A`), or
 * percent-encoded bytes that are not UTF-8 — in the path or the query.
 */
export function urlProblem(url: string): string | undefined {
  if (/[^\x21-\x7e]/.test(url)) return 'The URL holds characters that must be percent-encoded';
  const q = url.indexOf('?');
  return percentEncodingProblem(q < 0 ? url : url.slice(0, q), 'The URL path') ?? (q < 0 ? undefined : percentEncodingProblem(url.slice(q + 1), 'The query string'));
}

function percentEncodingProblem(text: string, what: string): string | undefined {
  if (!text.includes('%')) return undefined;
  try {
    // decodeURIComponent refuses both malformed escapes and bytes that are not UTF-8 (overlong forms, surrogates included).
    decodeURIComponent(text.replace(/\+/g, ' '));
    return undefined;
  } catch {
    return `${what} has bad percent-encoding or percent-encoded bytes that are not UTF-8`;
  }
}
