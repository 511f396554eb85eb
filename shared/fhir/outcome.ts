/**
 * The one home of FHIR OperationOutcome errors.
 *
 * Code anywhere throws an `OperationOutcomeError`; the Express error handler
 * (`./express.ts`) renders it with `statusOf(outcome)`. Builders take the
 * offending FHIRPath so a client can see which element was wrong.
 */
import type { OperationOutcome, OperationOutcomeIssue } from 'fhir/r4.js';

export type IssueCode = OperationOutcomeIssue['code'];

/** HTTP status carried by each issue code; the first error issue decides. */
const STATUS_BY_CODE: Partial<Record<IssueCode, number>> = {
  structure: 400,
  required: 422,
  value: 422,
  invariant: 422,
  invalid: 400,
  security: 401,
  login: 401,
  forbidden: 403,
  suppressed: 403,
  'not-found': 404,
  deleted: 410,
  'too-long': 413,
  'too-costly': 413,
  conflict: 409,
  duplicate: 409,
  'business-rule': 422,
  'not-supported': 405,
  processing: 422,
  transient: 503,
  timeout: 503,
  exception: 500,
};

/** An error that carries the OperationOutcome the client will receive. */
export class OperationOutcomeError extends Error {
  readonly outcome: OperationOutcome;
  /** Explicit HTTP status; when absent, derived from the first issue. */
  readonly status: number;

  constructor(outcome: OperationOutcome, status?: number) {
    const shown = bounded(outcome);
    super(shown.issue?.[0]?.diagnostics ?? shown.issue?.[0]?.details?.text ?? 'OperationOutcome');
    this.name = 'OperationOutcomeError';
    this.outcome = shown;
    this.status = status ?? statusFromIssues(outcome);
  }
}

export function statusOf(outcomeOrError: OperationOutcome | OperationOutcomeError): number {
  return outcomeOrError instanceof OperationOutcomeError ? outcomeOrError.status : statusFromIssues(outcomeOrError);
}

function statusFromIssues(outcome: OperationOutcome): number {
  const firstError = outcome.issue.find((i) => i.severity === 'error' || i.severity === 'fatal');
  if (!firstError) return 200;
  return STATUS_BY_CODE[firstError.code] ?? 400;
}

export function outcome(
  code: IssueCode,
  text: string,
  options: { expression?: string[]; severity?: OperationOutcomeIssue['severity'] } = {},
): OperationOutcome {
  const issue: OperationOutcomeIssue = {
    severity: options.severity ?? 'error',
    code,
    details: { text },
  };
  if (options.expression?.length) issue.expression = options.expression;
  return { resourceType: 'OperationOutcome', issue: [issue] };
}

/** A success outcome (`information`), e.g. for `$verify` or delete responses. */
export function informational(text: string): OperationOutcome {
  return outcome('informational', text, { severity: 'information' });
}

function fail(code: IssueCode, status: number, text: string, expression?: string | string[]): OperationOutcomeError {
  const expr = expression === undefined ? undefined : Array.isArray(expression) ? expression : [expression];
  return new OperationOutcomeError(outcome(code, text, { expression: expr }), status);
}

// Fixed outcomes. Each returns an error to `throw`, so call sites read `throw notFound(...)`.
export const badRequest = (text: string, expression?: string | string[]) => fail('invalid', 400, text, expression);
export const invalidResource = (text: string, expression?: string | string[]) => fail('invalid', 422, text, expression);
export const unprocessable = (text: string, expression?: string | string[]) => fail('business-rule', 422, text, expression);
export const unauthorized = (text = 'Authentication required') => fail('login', 401, text);
export const forbidden = (text = 'Forbidden') => fail('forbidden', 403, text);
export const notFound = (text = 'Not found') => fail('not-found', 404, text);
export const gone = (text: string) => fail('deleted', 410, text);
export const conflict = (text: string, expression?: string | string[]) => fail('conflict', 409, text, expression);
export const preconditionFailed = (text: string) => fail('conflict', 412, text);
/** An update sent without `If-Match` where the server requires it (RFC 6585 §3): no lost updates between writers. */
export const preconditionRequired = (text: string) => fail('required', 428, text);
export const tooLarge = (text: string) => fail('too-long', 413, text);
/** A search the server will not run as asked (e.g. one whose only criterion matches half of everything). */
export const tooCostly = (text: string, expression?: string | string[]) => fail('too-costly', 400, text, expression);
export const unsupportedMediaType = (text: string) => fail('not-supported', 415, text);
export const methodNotAllowed = (text: string) => fail('not-supported', 405, text);
/** A FHIR interaction the server does not serve (its CapabilityStatement does not declare it), asked for by a well-formed request. */
export const interactionNotSupported = (text: string, expression?: string | string[]) => fail('not-supported', 400, text, expression);
/** An answer in a form the client asked for and the server does not produce (`_format=xml`, `Accept: application/fhir+xml`). */
export const notAcceptable = (text: string, expression?: string | string[]) => fail('not-supported', 406, text, expression);
export const unavailable = (text: string) => fail('transient', 503, text);
/** Another server this one called for the answer (a peer hub) answered something it cannot pass on. */
export const badGateway = (text: string) => fail('exception', 502, text);

/** What an OperationOutcome another server answered says (its first issue), or undefined when the text is not one. */
export function outcomeTextOf(text: string): string | undefined {
  try {
    const parsed = JSON.parse(text) as Partial<OperationOutcome>;
    const issue = parsed.issue?.[0];
    return issue?.details?.text ?? issue?.diagnostics;
  } catch {
    return undefined;
  }
}
/** A body that stopped arriving before the length it announced (RFC 9110 §15.5.9): refused, not waited for. */
export const requestTimeout = (text: string) => fail('timeout', 408, text);
/** An `Expect` the server does not meet (anything but `100-continue`, RFC 9110 §10.1.1). */
export const expectationFailed = (text: string) => fail('not-supported', 417, text);

/**
 * Combines many issues (e.g. every validation problem at once) into one 422.
 * `omitted`: problems found but not built as issues (the validator stops
 * listing after MAX_ISSUES), counted in the closing "and N more" issue.
 */
export function invalidIssues(issues: OperationOutcomeIssue[], status = 422, omitted = 0): OperationOutcomeError {
  return new OperationOutcomeError({ resourceType: 'OperationOutcome', issue: cappedIssues(issues, omitted) }, status);
}

/**
 * At most this many issues are listed in one OperationOutcome; the rest are
 * counted in one closing issue. A hostile body can have a problem per byte,
 * and an answer a hundred times the size of the request helps nobody.
 */
export const MAX_ISSUES = 100;

/** Longest text or expression kept in an issue: messages may quote what the client sent. */
const MAX_ISSUE_TEXT = 500;

/** The first MAX_ISSUES issues, then one "and N more" issue counting the rest (and `omitted` never built). */
export function cappedIssues(issues: readonly OperationOutcomeIssue[], omitted = 0): OperationOutcomeIssue[] {
  const more = Math.max(0, issues.length - MAX_ISSUES) + omitted;
  if (more === 0) return [...issues];
  return [
    ...issues.slice(0, MAX_ISSUES),
    { severity: 'information', code: 'informational', details: { text: `…and ${more} more problem(s) not listed` } },
  ];
}

/** The outcome with its issue list capped (an already-capped list, MAX_ISSUES + 1, is left alone) and long texts cut. */
function bounded(outcome: OperationOutcome): OperationOutcome {
  const issues = outcome.issue ?? [];
  const tooLong = (s: string | undefined) => s !== undefined && s.length > MAX_ISSUE_TEXT;
  const needsCutting = (i: OperationOutcomeIssue) =>
    tooLong(i.details?.text) || tooLong(i.diagnostics) || (i.expression ?? []).some(tooLong) || (i.expression?.length ?? 0) > MAX_ISSUES;
  if (issues.length <= MAX_ISSUES + 1 && !issues.some(needsCutting)) return outcome;
  const cut = (s: string) => (s.length > MAX_ISSUE_TEXT ? `${s.slice(0, MAX_ISSUE_TEXT)}…` : s);
  const shown = issues.length > MAX_ISSUES + 1 ? cappedIssues(issues) : issues;
  return {
    ...outcome,
    issue: shown.map((i) => {
      if (!needsCutting(i)) return i;
      const copy: OperationOutcomeIssue = { ...i };
      if (i.details?.text !== undefined) copy.details = { ...i.details, text: cut(i.details.text) };
      if (i.diagnostics !== undefined) copy.diagnostics = cut(i.diagnostics);
      if (i.expression) copy.expression = i.expression.slice(0, MAX_ISSUES).map(cut);
      return copy;
    }),
  };
}

/** The outcome a client sees for an unexpected failure: no detail, no stack. */
export function internalError(): OperationOutcomeError {
  return fail('exception', 500, 'Internal server error');
}

export function isOperationOutcomeError(e: unknown): e is OperationOutcomeError {
  return e instanceof OperationOutcomeError;
}
