/**
 * The small path language scenarios use to point into a response: dotted
 * segments, array indexes, `length`, `*` over every element, and filters.
 *
 *   entry.length                          number of entries
 *   issue.0.code                          first issue's code
 *   entry.*.resource.resourceType         every entry's resourceType (an array)
 *   entry[resource.resourceType=PractitionerRole].resource.telecom
 *                                         only the entries whose sub-path equals the text
 *   parameter[name=allSigned].0.valueBoolean
 *                                         an index right after a filter picks one kept element
 *   entry[resource.resourceType=PractitionerRole].length
 *                                         after * or a filter, a final `length` counts the results
 *   $status, $headers.etag, $body.id      the response's status, a header, the body explicitly
 *
 * Without a `$` root a path starts at the body; `.` (or an empty path) is the whole body.
 */

export type PathSegment =
  | { readonly kind: 'key'; readonly key: string }
  | { readonly kind: 'all' }
  | { readonly kind: 'filter'; readonly key: string | undefined; readonly path: readonly PathSegment[]; readonly value: string };

export class PathSyntaxError extends Error {
  constructor(path: string, reason: string) {
    super(`Bad path "${path}": ${reason}`);
    this.name = 'PathSyntaxError';
  }
}

/** Splits a path into segments; `a.b[c.d=x].e` → key a, filter on b (c.d = x), key e. */
export function parsePath(path: string): PathSegment[] {
  const segments: PathSegment[] = [];
  let i = 0;
  const text = path.trim();
  if (text === '' || text === '.') return segments;
  while (i < text.length) {
    let end = i;
    while (end < text.length && text[end] !== '.' && text[end] !== '[') end++;
    const key = text.slice(i, end);
    if (text[end] === '[') {
      const close = matchingBracket(text, end);
      if (close < 0) throw new PathSyntaxError(path, 'unclosed [');
      const inner = text.slice(end + 1, close);
      const eq = inner.indexOf('=');
      if (eq <= 0) throw new PathSyntaxError(path, `a filter reads [sub.path=value], got [${inner}]`);
      segments.push({ kind: 'filter', key: key === '' ? undefined : key, path: parsePath(inner.slice(0, eq)), value: inner.slice(eq + 1) });
      end = close + 1;
      if (end < text.length && text[end] !== '.') throw new PathSyntaxError(path, 'expected . after ]');
    } else {
      if (key === '') throw new PathSyntaxError(path, 'empty segment');
      segments.push(key === '*' ? { kind: 'all' } : { kind: 'key', key });
    }
    i = end + 1;
  }
  return segments;
}

function matchingBracket(text: string, open: number): number {
  let depth = 0;
  for (let j = open; j < text.length; j++) {
    if (text[j] === '[') depth++;
    else if (text[j] === ']' && --depth === 0) return j;
  }
  return -1;
}

/** What a path found: `found` false when any segment was missing. After `*` or a filter, `value` is an array. */
export interface PathResult {
  readonly found: boolean;
  readonly value: unknown;
}

const MISSING: PathResult = { found: false, value: undefined };

export function evaluatePath(root: unknown, path: string | readonly PathSegment[]): PathResult {
  const segments = typeof path === 'string' ? parsePath(path) : path;
  const last = segments[segments.length - 1];
  // After `*` or a filter, a final `length` counts what was collected (`entry[…].length`).
  if (last?.kind === 'key' && last.key === 'length' && segments.some((s) => s.kind !== 'key')) {
    const collected = walk(root, segments.slice(0, -1), 0);
    return collected.found && Array.isArray(collected.value) ? { found: true, value: collected.value.length } : MISSING;
  }
  const found = walk(root, segments, 0);
  if (found.found || last?.kind !== 'key' || last.key !== 'length') return found;
  // FHIR JSON leaves an empty list out (a search that found nothing has no `entry`): `entry.length` is then 0,
  // as long as what would hold it is there (`entry.length` of a Bundle; not of a missing `link.0`).
  const listKey = segments[segments.length - 2];
  if (listKey?.kind !== 'key') return found;
  const holder = walk(root, segments.slice(0, -2), 0);
  const absent = holder.found && isJsonObject(holder.value) && !Object.prototype.hasOwnProperty.call(holder.value, listKey.key);
  return absent ? { found: true, value: 0 } : found;
}

function isJsonObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function walk(value: unknown, segments: readonly PathSegment[], index: number): PathResult {
  if (index === segments.length) return { found: value !== undefined, value };
  const segment = segments[index]!;
  switch (segment.kind) {
    case 'key': {
      const next = step(value, segment.key);
      return next.found ? walk(next.value, segments, index + 1) : MISSING;
    }
    case 'all':
      return spread(Array.isArray(value) ? value : undefined, segments, index + 1);
    case 'filter': {
      const named = segment.key === undefined ? value : step(value, segment.key).value;
      // A list FHIR JSON left out because it is empty filters to nothing (`entry[…].length` is 0), as an empty one would.
      const list = named === undefined && segment.key !== undefined && isJsonObject(value) && !Object.prototype.hasOwnProperty.call(value, segment.key) ? [] : named;
      if (!Array.isArray(list)) return MISSING;
      const kept = list.filter((item) => {
        const r = walk(item, segment.path, 0);
        return r.found && stringOf(r.value) === segment.value;
      });
      // An index right after a filter picks one of the kept elements: `parameter[name=allSigned].0.valueBoolean`.
      const next = segments[index + 1];
      if (next?.kind === 'key' && /^\d+$/.test(next.key)) {
        const picked = step(kept, next.key);
        return picked.found ? walk(picked.value, segments, index + 2) : MISSING;
      }
      // A filter already visits each kept element, so `entry[…].*.x` means `entry[…].x`.
      return spread(kept, segments, next?.kind === 'all' ? index + 2 : index + 1);
    }
  }
}

/** Applies the rest of the path to each element and collects what was found (flattening one level per `*`). */
function spread(list: unknown[] | undefined, segments: readonly PathSegment[], from: number): PathResult {
  if (!list) return MISSING;
  const out: unknown[] = [];
  for (const item of list) {
    const r = walk(item, segments, from);
    if (!r.found) continue;
    const fanned = segments.slice(from).some((s) => s.kind !== 'key');
    if (fanned && Array.isArray(r.value)) out.push(...(r.value as unknown[]));
    else out.push(r.value);
  }
  return { found: true, value: out };
}

function step(value: unknown, key: string): PathResult {
  if (Array.isArray(value)) {
    if (/^\d+$/.test(key)) {
      const i = Number(key);
      return i < value.length ? { found: true, value: value[i] } : MISSING;
    }
    if (key === 'length') return { found: true, value: value.length };
    return MISSING;
  }
  if (typeof value === 'string' && key === 'length') return { found: true, value: value.length };
  if (typeof value === 'object' && value !== null && Object.prototype.hasOwnProperty.call(value, key)) {
    const v = (value as Record<string, unknown>)[key];
    return v === undefined ? MISSING : { found: true, value: v };
  }
  return MISSING;
}

function stringOf(value: unknown): string {
  return typeof value === 'string' ? value : JSON.stringify(value);
}

/** The response a path with a `$` root addresses. */
export interface ResponseView {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: unknown;
}

/** Evaluates a check or save path against a response: `$status`, `$headers.<name>`, `$body…`, or the body. */
export function evaluateResponsePath(response: ResponseView, path: string): PathResult {
  const trimmed = path.trim();
  if (trimmed === '$status') return { found: true, value: response.status };
  if (trimmed.startsWith('$headers.')) {
    const name = trimmed.slice('$headers.'.length).toLowerCase();
    const v = response.headers[name];
    return v === undefined ? MISSING : { found: true, value: v };
  }
  if (trimmed === '$body') return evaluatePath(response.body, '');
  if (trimmed.startsWith('$body.')) return evaluatePath(response.body, trimmed.slice('$body.'.length));
  if (trimmed.startsWith('$')) throw new PathSyntaxError(path, 'a path root is $status, $headers.<name> or $body');
  return evaluatePath(response.body, trimmed);
}

/**
 * Sets (or with `remove`, deletes) the value at a plain path (keys and indexes
 * only), creating objects on the way. Used for a step's `edits` to a body.
 */
export function setAtPath(root: unknown, path: string, value: unknown, remove = false): void {
  const segments = parsePath(path);
  if (segments.length === 0) throw new PathSyntaxError(path, 'cannot replace the whole body; give a member');
  const keys = segments.map((s) => {
    if (s.kind !== 'key') throw new PathSyntaxError(path, 'edits take plain paths (no * or filters)');
    return s.key;
  });
  let target: unknown = root;
  for (let i = 0; i < keys.length - 1; i++) {
    const key = keys[i]!;
    const container = target as Record<string, unknown>;
    if (typeof container !== 'object' || container === null) throw new PathSyntaxError(path, `${keys.slice(0, i).join('.')} is not an object`);
    if (container[key] === undefined || container[key] === null) {
      if (remove) return;
      container[key] = /^\d+$/.test(keys[i + 1]!) ? [] : {};
    }
    target = container[key];
  }
  const last = keys[keys.length - 1]!;
  if (typeof target !== 'object' || target === null) throw new PathSyntaxError(path, 'parent is not an object');
  if (Array.isArray(target) && /^\d+$/.test(last)) {
    if (remove) target.splice(Number(last), 1);
    else target[Number(last)] = value;
    return;
  }
  if (remove) delete (target as Record<string, unknown>)[last];
  else (target as Record<string, unknown>)[last] = value;
}
