/**
 * The text of each message in a batch request's body (shared/messaging/message-batch.ts): the exact characters of
 * each `entry[i].resource`, as `JSON.parse` read them — so the simulator keeps a batch's messages as they came, as it
 * keeps a message sent alone, instead of writing each one out again (the largest single item of its work per message).
 *
 * It reads the JSON's structure only (strings passed over whole, nesting counted) and is exact only where
 * `JSON.parse` leaves no choice: a key at the levels it looks at written with an escape (`"entr\u0079"` is `entry` to
 * `JSON.parse`), `entry` or an entry's `resource` given twice (`JSON.parse` keeps the last), text that does not open
 * with an object — each gives undefined, and the caller writes the parsed messages out as before. The body must
 * already have parsed as JSON.
 */

/** Each entry's `resource` text, in order (undefined for an entry that is not an object or has none), or undefined. */
export function batchMessageTexts(text: string): (string | undefined)[] | undefined {
  try {
    return new Scanner(text).batch();
  } catch (err) {
    if (err instanceof NotPlain) return undefined;
    throw err;
  }
}

/** The body is not one this scanner reads exactly as `JSON.parse` does. */
class NotPlain extends Error {}

const code = (c: string) => c.charCodeAt(0);
const QUOTE = code('"');
const BACKSLASH = code('\\');
const OPEN_BRACE = code('{');
const CLOSE_BRACE = code('}');
const OPEN_BRACKET = code('[');
const CLOSE_BRACKET = code(']');
const COMMA = code(',');
const COLON = code(':');
/** JSON's whitespace. */
const WHITESPACE = new Set([' ', '\t', '\n', '\r'].map(code));
/** What ends a number or a literal. */
const DELIMITERS = new Set([...WHITESPACE, COMMA, CLOSE_BRACKET, CLOSE_BRACE]);

class Scanner {
  private i = 0;

  constructor(private readonly text: string) {}

  batch(): (string | undefined)[] | undefined {
    let texts: (string | undefined)[] | undefined;
    this.members((key) => {
      if (key !== 'entry') return this.value();
      if (texts) throw new NotPlain();
      if (this.at() === OPEN_BRACKET) texts = this.entries();
      else {
        this.value();
        texts = [];
      }
    });
    return texts;
  }

  /** `[ {…}, … ]`: per element, its `resource` text. */
  private entries(): (string | undefined)[] {
    const texts: (string | undefined)[] = [];
    this.i++;
    this.skipWhitespace();
    if (this.at() === CLOSE_BRACKET) {
      this.i++;
      return texts;
    }
    for (;;) {
      this.skipWhitespace();
      if (this.at() === OPEN_BRACE) texts.push(this.resourceText());
      else {
        this.value();
        texts.push(undefined);
      }
      if (this.separator(CLOSE_BRACKET)) return texts;
    }
  }

  /** One entry object: the text of its `resource` member. */
  private resourceText(): string | undefined {
    let resource: string | undefined;
    let seen = false;
    this.members((key) => {
      if (key !== 'resource') return this.value();
      if (seen) throw new NotPlain();
      seen = true;
      const start = this.i;
      this.value();
      resource = this.text.slice(start, this.i);
    });
    return resource;
  }

  /** `{ "key": value, … }` at the cursor: calls `member` with the cursor on each value (which it must pass over). */
  private members(member: (key: string) => void): void {
    this.skipWhitespace();
    if (this.at() !== OPEN_BRACE) throw new NotPlain();
    this.i++;
    this.skipWhitespace();
    if (this.at() === CLOSE_BRACE) {
      this.i++;
      return;
    }
    for (;;) {
      this.skipWhitespace();
      const key = this.key();
      this.skipWhitespace();
      if (this.at() !== COLON) throw new NotPlain();
      this.i++;
      this.skipWhitespace();
      member(key);
      if (this.separator(CLOSE_BRACE)) return;
    }
  }

  /** After a member or element: true at the closing `close`, false at a comma (passed over); anything else is not JSON. */
  private separator(close: number): boolean {
    this.skipWhitespace();
    const c = this.at();
    this.i++;
    if (c === close) return true;
    if (c !== COMMA) throw new NotPlain();
    return false;
  }

  /** A key as written: one with an escape in it is not read here (its meaning is the unescaped text). */
  private key(): string {
    const start = this.i;
    this.string();
    const key = this.text.slice(start + 1, this.i - 1);
    if (key.includes('\\')) throw new NotPlain();
    return key;
  }

  /** Passes over one value: an object or array by its nesting (its strings passed over whole), else to a delimiter. */
  private value(): void {
    const { text } = this;
    const first = this.at();
    if (first === QUOTE) return this.string();
    if (first !== OPEN_BRACE && first !== OPEN_BRACKET) {
      // A number, true, false or null.
      const start = this.i;
      while (this.i < text.length && !DELIMITERS.has(text.charCodeAt(this.i))) this.i++;
      if (this.i === start) throw new NotPlain();
      return;
    }
    let depth = 0;
    while (this.i < text.length) {
      const c = text.charCodeAt(this.i);
      if (c === QUOTE) {
        this.string();
        continue;
      }
      this.i++;
      if (c === OPEN_BRACE || c === OPEN_BRACKET) depth++;
      else if (c === CLOSE_BRACE || c === CLOSE_BRACKET) {
        depth--;
        if (depth === 0) return;
      }
    }
    throw new NotPlain();
  }

  /** Passes over a string: a quote ends it unless an odd run of backslashes stands before it (`\"`, but `\\"` ends). */
  private string(): void {
    const { text } = this;
    if (this.at() !== QUOTE) throw new NotPlain();
    let from = this.i + 1;
    for (;;) {
      const quote = text.indexOf('"', from);
      if (quote < 0) throw new NotPlain();
      let backslashes = 0;
      while (text.charCodeAt(quote - 1 - backslashes) === BACKSLASH) backslashes++;
      from = quote + 1;
      if (backslashes % 2 === 0) break;
    }
    this.i = from;
  }

  private at(): number {
    return this.text.charCodeAt(this.i);
  }

  private skipWhitespace(): void {
    while (this.i < this.text.length && WHITESPACE.has(this.text.charCodeAt(this.i))) this.i++;
  }
}
