/** Query parameters the alerts operations share. */
import { badRequest } from '../../../shared/fhir/outcome.js';
import { unknownParameterProblem } from '../../../shared/http/query-rules.js';

/** A whole-number query parameter within bounds (`fallback` when absent); 400 naming it otherwise. */
export function wholeNumberParam(value: unknown, name: string, fallback: number, min: number, max: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'string' || !/^\d{1,15}$/.test(value)) throw badRequest(`${name} must be a whole number`, name);
  const n = Number(value);
  if (n < min || n > max) throw badRequest(`${name} must be between ${min} and ${max}`, name);
  return n;
}

/**
 * Refuses (400, naming it) any query parameter an operation does not take — `_format` and `_pretty` change
 * nothing, as everywhere. Refused, not ignored: an agency asking for `agency=<another>` must not be handed its
 * own list as if it were that agency's. `why` says whose list it is.
 */
export function onlyParameters(query: Record<string, unknown>, operation: string, taken: readonly string[], why: string): void {
  const problem = unknownParameterProblem(query, operation, taken, why);
  if (problem) throw problem;
}
