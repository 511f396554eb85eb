/**
 * Evaluating a step's expectations against a response. Each failed check
 * gives one reason in words a tester can act on
 * (`entry.length: expected 3, got 2`).
 */
import { evaluateResponsePath, type ResponseView } from './paths.js';
import type { Check, Expectation } from './scenario.js';

/** Every reason the response does not meet the expectation; empty when it does. */
export function checkExpectation(expect: Expectation | undefined, response: ResponseView, defaultStatus: StatusRule = 'success'): string[] {
  const reasons: string[] = [];
  const status = expect?.status ?? defaultStatus;
  const statusOk = status === 'success' ? response.status >= 200 && response.status < 300 : [status].flat().includes(response.status);
  if (!statusOk) {
    const wanted = status === 'success' ? '2xx' : [status].flat().join(' or ');
    reasons.push(`status: expected ${wanted}, got ${response.status}${describeOutcome(response.body)}`);
  }
  if (expect?.resourceType !== undefined) {
    const got = (response.body as { resourceType?: unknown } | undefined)?.resourceType;
    if (got !== expect.resourceType) reasons.push(`resourceType: expected ${expect.resourceType}, got ${show(got)}`);
  }
  if (expect?.outcome !== undefined) {
    const codes = issueCodes(response.body);
    if (!codes.includes(expect.outcome)) {
      reasons.push(`outcome: expected an OperationOutcome issue "${expect.outcome}", got ${codes.length ? codes.join(', ') : 'none'}`);
    }
  }
  for (const check of expect?.checks ?? []) reasons.push(...evaluateCheck(check, response));
  return reasons;
}

export type StatusRule = 'success' | number | readonly number[];

export function evaluateCheck(check: Check, response: ResponseView): string[] {
  let found;
  try {
    found = evaluateResponsePath(response, check.path);
  } catch (err) {
    return [(err as Error).message];
  }
  const reasons: string[] = [];
  const got = found.found ? found.value : undefined;
  const fail = (what: string) => reasons.push(`${check.path}: ${what}, got ${found.found ? show(got) : 'nothing'}`);

  if (check.exists !== undefined && found.found !== check.exists) {
    reasons.push(`${check.path}: expected ${check.exists ? 'to exist' : 'to be absent'}${found.found ? `, got ${show(got)}` : ''}`);
  }
  if ('equals' in check && !deepEqual(got, check.equals)) fail(`expected ${show(check.equals)}`);
  if ('notEquals' in check && deepEqual(got, check.notEquals)) fail(`expected anything but ${show(check.notEquals)}`);
  if (check.oneOf !== undefined && !check.oneOf.some((v) => deepEqual(got, v))) fail(`expected one of ${show(check.oneOf)}`);
  if ('contains' in check && !(found.found && contains(got, check.contains))) fail(`expected to contain ${show(check.contains)}`);
  if ('notContains' in check && found.found && contains(got, check.notContains)) fail(`expected not to contain ${show(check.notContains)}`);
  if (check.matches !== undefined && !(typeof got === 'string' && new RegExp(check.matches).test(got))) fail(`expected to match /${check.matches}/`);
  if (check.atLeast !== undefined && !(typeof got === 'number' && got >= check.atLeast)) fail(`expected at least ${check.atLeast}`);
  if (check.atMost !== undefined && !(typeof got === 'number' && got <= check.atMost)) fail(`expected at most ${check.atMost}`);
  return reasons;
}

/**
 * `contains`: a string contains a substring; an array has an element that
 * matches; an object matches. An object needle matches when every member it
 * names matches (other members are ignored), so a check can say
 * `{ resourceType: 'PractitionerRole' }` without spelling out the rest.
 */
export function contains(haystack: unknown, needle: unknown): boolean {
  if (typeof haystack === 'string' && typeof needle === 'string') return haystack.includes(needle);
  if (Array.isArray(haystack)) return haystack.some((item) => matches(item, needle));
  return matches(haystack, needle);
}

/** Partial deep match: objects by the needle's members, arrays by containing each needle element, primitives equal. */
export function matches(value: unknown, needle: unknown): boolean {
  if (Array.isArray(needle)) {
    return Array.isArray(value) && needle.every((n) => value.some((v) => matches(v, n)));
  }
  if (isObject(needle)) {
    return isObject(value) && Object.entries(needle).every(([k, n]) => matches(value[k], n));
  }
  return value === needle;
}

export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((v, i) => deepEqual(v, b[i]));
  if (isObject(a) && isObject(b)) {
    const ka = Object.keys(a);
    const kb = Object.keys(b);
    return ka.length === kb.length && ka.every((k) => deepEqual(a[k], b[k]));
  }
  return false;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function issueCodes(body: unknown): string[] {
  if (!isObject(body) || body.resourceType !== 'OperationOutcome' || !Array.isArray(body.issue)) return [];
  return body.issue.map((i) => (isObject(i) ? String(i.code) : '')).filter(Boolean);
}

/** ` (OperationOutcome: <text>)` when the body is one, so a wrong status explains itself. */
function describeOutcome(body: unknown): string {
  if (!isObject(body) || body.resourceType !== 'OperationOutcome' || !Array.isArray(body.issue)) return '';
  const first: unknown = body.issue[0];
  if (!isObject(first)) return '';
  const details = isObject(first.details) ? first.details.text : undefined;
  const text = typeof details === 'string' ? details : typeof first.diagnostics === 'string' ? first.diagnostics : String(first.code);
  return ` (OperationOutcome: ${text})`;
}

/** A short rendering of a value for a reason (long values cut). */
export function show(value: unknown): string {
  if (value === undefined) return 'nothing';
  // JSON.stringify gives undefined for what JSON cannot hold (a function, a symbol): name its kind.
  const s = JSON.stringify(value) ?? typeof value;
  return s.length > 160 ? `${s.slice(0, 157)}…` : s;
}
