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
 *   FHIR element, and each is a classic way into an object's prototype. No
 *   object may have the same key twice (JSON.parse keeps the last, another
 *   reader the first: one body, two resources).
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
const FORBIDDEN_KEY_BYTES = [...FORBIDDEN_KEYS].map((k) => Buffer.from(k, 'latin1'));

/** Whether the bytes from `from` to `to` spell one of FORBIDDEN_KEYS exactly (no decoding: they are ASCII). */
function isForbiddenKeySpelling(body: Uint8Array, from: number, to: number): boolean {
  const length = to - from;
  for (const key of FORBIDDEN_KEY_BYTES) {
    if (key.length !== length) continue;
    let k = 0;
    while (k < length && body[from + k] === key[k]) k++;
    if (k === length) return true;
  }
  return false;
}

/**
 * A number token whose spelling JSON.parse forgets: `1.50` reads as 1.5, `2.0`, `1e2`, `-0.0` as the integers 2, 100, 0,
 * `-0` as 0 — any token JSON.stringify would not write back as it came. Where FHIR wants an integer the integral ones
 * are refused (R4's integer types are spelt without a fraction or an exponent: shared/fhir/value-checks.ts); where it
 * wants a decimal the spelling is the precision, and is kept (shared/fhir/number-spelling.ts).
 */
export interface NumberSpelling {
  /** Where the token starts in the body. */
  readonly offset: number;
  /** The token as written. */
  readonly text: string;
  /** JSON.parse reads it as an integer though it is not spelt as one (`2.0`, `1e2`, `-0`): wrong where R4 wants an integer type. */
  readonly integral: boolean;
}

/**
 * At most this many number spellings are noted per body (each costs its text and, later, its path): a 50 MB body of
 * `1.0,` repeated would otherwise hold twelve million of them. Past it the rest go unjudged and unkept — a
 * decimal-heavy body is legitimate, so refusing it would be wrong; an integer element spelt `2.0` after these is taken
 * as 2, a decimal `1.50` as 1.5.
 */
export const MAX_NUMBER_SPELLINGS = 10_000;

const MINUS = 0x2d;
const DIGIT_0 = 0x30;
const DIGIT_9 = 0x39;

/** Whether a byte can continue a JSON number token (digits, `.`, `e`, `E`, `+`, `-`). */
function isNumberByte(c: number): boolean {
  return (c >= DIGIT_0 && c <= DIGIT_9) || c === 0x2e || c === 0x65 || c === 0x45 || c === 0x2b || c === MINUS;
}

/**
 * Whether a number token with a fraction is one JSON.stringify writes back as it is, told without converting it (most
 * decimals are): no exponent, at most 15 digits (a double tells apart every decimal of 15 significant digits, so no
 * shorter spelling reads as the same number), no trailing 0 in the fraction, and not below 0.000001 (which JavaScript
 * writes with an exponent). The others are converted and compared.
 */
function isPlainDecimal(bytes: Buffer, start: number, end: number, exponent: boolean): boolean {
  if (exponent || end - start > 16 || bytes[end - 1] === DIGIT_0) return false;
  const s = bytes[start] === MINUS ? start + 1 : start;
  if (bytes[s] !== DIGIT_0) return true;
  for (let k = s + 2; k < s + 8; k++) if (k >= end || bytes[k] !== DIGIT_0) return true;
  return false;
}

/**
 * The first problem of a JSON body's raw bytes, in one pass and without
 * parsing: encoding, depth, forbidden keys, a key twice in one object, lone surrogates, control
 * characters. Syntax errors are
 * left to JSON.parse (this scan only needs to find strings, brackets and numbers).
 * Number tokens JSON.parse does not read back as written (`1.50`, `2.0`, `1e2`, `-0`) are pushed on `spellings` when
 * given (NumberSpelling): whether they are wrong, or a precision to keep, depends on the element.
 */
export function jsonBodyProblem(body: Uint8Array, maxDepth = MAX_JSON_DEPTH, spellings?: NumberSpelling[]): string | undefined {
  if (!isUtf8(body)) return 'The body is not valid UTF-8';
  const bytes = Buffer.from(body.buffer, body.byteOffset, body.length);
  const n = bytes.length;
  let depth = 0;
  const open = new OpenObjects(bytes);
  // Where the next backslash is: strings before it hold no escape, so their end is the next quote (found natively).
  let nextBackslash = bytes.indexOf(BACKSLASH);
  for (let i = 0; i < n; i++) {
    const c = bytes[i];
    if (c === QUOTE) {
      const start = i;
      let escaped = false;
      const end = bytes.indexOf(QUOTE, i + 1);
      if (end >= 0 && (nextBackslash < 0 || nextBackslash > end)) {
        i = end;
      } else {
        for (i++; i < n && bytes[i] !== QUOTE; i++) {
          if (bytes[i] === BACKSLASH) {
            escaped = true;
            i++;
          }
        }
        if (nextBackslash >= 0 && nextBackslash < i) nextBackslash = bytes.indexOf(BACKSLASH, i);
      }
      const problem = stringProblem(bytes, start, i, escaped);
      if (problem) return problem;
      if (open.inObject() && isKey(bytes, i + 1) && !open.addKey(start + 1, i, escaped)) {
        return `The key "${(decoded(bytes, start + 1, i) ?? '').slice(0, 64)}" appears twice in one JSON object`;
      }
    } else if (c === OPEN_OBJECT || c === OPEN_ARRAY) {
      if (++depth > maxDepth) return `The JSON nests deeper than ${maxDepth} levels`;
      open.open(c === OPEN_OBJECT);
    } else if (c === CLOSE_OBJECT || c === CLOSE_ARRAY) {
      depth--;
      open.close();
    } else if ((c! >= DIGIT_0 && c! <= DIGIT_9) || c === MINUS) {
      // A number token (outside strings no other value holds a digit or a minus): an integer's bytes are digits after an optional minus.
      const start = i;
      let integerSpelt = true;
      let exponent = false;
      for (i++; i < n && isNumberByte(bytes[i]!); i++) {
        const b = bytes[i]!;
        if (b < DIGIT_0 || b > DIGIT_9) {
          integerSpelt = false;
          if (b === 0x65 || b === 0x45) exponent = true;
        }
      }
      const minusZero = c === MINUS && i - start === 2 && bytes[start + 1] === DIGIT_0;
      // An integer spelt with at most 15 digits is read back as written (doubles hold 15 significant digits), and so is a plain decimal.
      if (spellings && spellings.length < MAX_NUMBER_SPELLINGS && (integerSpelt ? minusZero || i - start > 15 : !isPlainDecimal(bytes, start, i, exponent))) {
        const text = bytes.toString('latin1', start, i);
        const value = Number(text);
        if (String(value) !== text) spellings.push({ offset: start, text, integral: (!integerSpelt || minusZero) && Number.isInteger(value) });
      }
      i--;
    }
  }
  return undefined;
}

/**
 * The place of each number token at `offsets` (ascending, each the start of a token) in a JSON body: keys and array
 * indexes from the root (`["parameter", 0, "valueInteger"]`). Undefined when the body is not JSON the scan can follow.
 * A second pass over the body, made only when the scan found such tokens.
 */
export function jsonPathsAt(body: Uint8Array, offsets: readonly number[]): (string | number)[][] | undefined {
  const bytes = Buffer.from(body.buffer, body.byteOffset, body.length);
  const frames: { key: string | undefined; index: number; isObject: boolean }[] = [];
  const paths: (string | number)[][] = [];
  let next = 0;
  for (let i = 0; i < bytes.length && next < offsets.length; i++) {
    const c = bytes[i];
    if (i === offsets[next]) {
      paths.push(frames.map((f) => (f.isObject ? (f.key ?? '') : f.index)));
      next++;
    }
    if (c === QUOTE) {
      const start = i;
      for (i++; i < bytes.length && bytes[i] !== QUOTE; i++) if (bytes[i] === BACKSLASH) i++;
      const top = frames[frames.length - 1];
      if (top?.isObject && isKey(bytes, i + 1)) {
        const key = decoded(bytes, start + 1, i);
        if (key === undefined) return undefined;
        top.key = key;
      }
    } else if (c === OPEN_OBJECT || c === OPEN_ARRAY) {
      frames.push({ key: undefined, index: 0, isObject: c === OPEN_OBJECT });
    } else if (c === CLOSE_OBJECT || c === CLOSE_ARRAY) {
      frames.pop();
    } else if (c === 0x2c) {
      const top = frames[frames.length - 1];
      if (top && !top.isObject) top.index++;
    }
  }
  return next === offsets.length ? paths : undefined;
}

/** The text between `from` and `to` (a string token's content, quotes excluded); undefined when malformed (JSON.parse refuses the body). */
function decoded(body: Buffer, from: number, to: number): string | undefined {
  const raw = body.toString('utf8', from, to);
  if (!raw.includes('\\')) return raw;
  try {
    return JSON.parse(`"${raw}"`) as string;
  } catch {
    return undefined;
  }
}

/** Keys past which an object's keys are kept as text in a Set rather than compared one by one (no FHIR element has this many). */
const MANY_KEYS = 64;

/**
 * The keys of the JSON objects open at a point of the scan, to find a key given twice in one object
 * (RFC 8259 §4 leaves its meaning open: JSON.parse keeps the last, other readers the first, so two
 * systems would read two different resources). Keys are compared as byte ranges of the body — no
 * string is made on the common path; an escaped key, or an object of very many keys, is compared as text.
 */
class OpenObjects {
  /** Per open bracket: where its keys start in `ranges` (an object), or -1 (an array). */
  private readonly opened: number[] = [];
  /** [from, to, escaped] of each key of every open object, innermost object last: the first `top` numbers (the array is reused, not shrunk). */
  private readonly ranges: number[] = [];
  private top = 0;
  /** The keys, as text, of open objects with more than MANY_KEYS keys (by their place in `opened`). */
  private readonly many = new Map<number, Set<string>>();

  constructor(private readonly body: Buffer) {}

  open(isObject: boolean): void {
    this.opened.push(isObject ? this.top : -1);
  }

  close(): void {
    const from = this.opened.pop();
    if (from === undefined || from < 0) return;
    this.top = from;
    if (this.many.size > 0) this.many.delete(this.opened.length);
  }

  inObject(): boolean {
    const top = this.opened[this.opened.length - 1];
    return top !== undefined && top >= 0;
  }

  /** Whether the `length` bytes at `a` and at `b` are the same (keys are short: a loop beats a native call). */
  private sameBytes(a: number, b: number, length: number): boolean {
    const body = this.body;
    for (let k = 0; k < length; k++) if (body[a + k] !== body[b + k]) return false;
    return true;
  }

  /** Records a key of the innermost object; false when that object already has it. */
  addKey(from: number, to: number, escaped: boolean): boolean {
    const level = this.opened.length - 1;
    const first = this.opened[level] ?? 0;
    const set = this.many.get(level);
    if (set) {
      const text = decoded(this.body, from, to) ?? '';
      if (set.has(text)) return false;
      set.add(text);
      return true;
    }
    const length = to - from;
    const text = escaped ? decoded(this.body, from, to) : undefined;
    for (let k = first; k < this.top; k += 3) {
      const a = this.ranges[k]!;
      const b = this.ranges[k + 1]!;
      if (!escaped && this.ranges[k + 2] === 0) {
        if (b - a === length && this.sameBytes(a, from, length)) return false;
      } else if ((text ?? decoded(this.body, from, to)) === decoded(this.body, a, b)) {
        return false;
      }
    }
    this.ranges[this.top] = from;
    this.ranges[this.top + 1] = to;
    this.ranges[this.top + 2] = escaped ? 1 : 0;
    this.top += 3;
    if ((this.top - first) / 3 > MANY_KEYS) {
      const keys = new Set<string>();
      for (let k = first; k < this.top; k += 3) keys.add(decoded(this.body, this.ranges[k]!, this.ranges[k + 1]!) ?? '');
      this.many.set(level, keys);
    }
    return true;
  }
}

/** A string token from `start` (its opening quote) to `end` (its closing quote): a forbidden key, or not well-formed. */
function stringProblem(body: Uint8Array, start: number, end: number, escaped: boolean): string | undefined {
  // An unescaped string is its bytes: only one spelling a forbidden key byte for byte needs a closer look.
  if (!escaped && !isForbiddenKeySpelling(body, start + 1, end)) return undefined;
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

/**
 * `If-None-Exist` holds a search's query string: its percent-encoding is refused as a URL's is, never decoded
 * lossily (`identifier=%ZZ` searched for the text `%ZZ`, found nothing and created).
 */
export function ifNoneExistProblem(criteria: string | undefined): string | undefined {
  return criteria === undefined ? undefined : percentEncodingProblem(criteria, 'If-None-Exist');
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
