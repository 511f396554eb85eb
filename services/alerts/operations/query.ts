/** Query parameters the alerts operations share. */
import { unknownParameterProblem } from '../../../shared/http/query-rules.js';

/**
 * Refuses (400, naming it) any query parameter an operation does not take — `_format` and `_pretty` change
 * nothing, as everywhere. Refused, not ignored: an agency asking for `agency=<another>` must not be handed its
 * own list as if it were that agency's. `why` says whose list it is.
 */
export function onlyParameters(query: Record<string, unknown>, operation: string, taken: readonly string[], why: string): void {
  const problem = unknownParameterProblem(query, operation, taken, why);
  if (problem) throw problem;
}
