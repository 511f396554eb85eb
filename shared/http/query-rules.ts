/**
 * The query parameters a route that is not a FHIR search takes (a report, a proof, a control endpoint): any other
 * is refused with a 400 naming it, as the FHIR routes refuse one they do not serve — a misspelt `cuont=5` answered
 * as if it were not there reads as an answer to the question asked. `_format` and `_pretty` are taken everywhere.
 */
import type { RequestHandler } from 'express';
import { FORMAT_PARAMETERS } from '../fhir/media-types.js';
import { badRequest } from '../fhir/outcome.js';

/** The 400 for the first query parameter of `query` not in `taken` (nor `_format` / `_pretty`); undefined when there is none. */
export function unknownParameterProblem(query: Record<string, unknown>, what: string, taken: readonly string[], why = ''): ReturnType<typeof badRequest> | undefined {
  for (const name of Object.keys(query)) {
    if (taken.includes(name) || FORMAT_PARAMETERS.has(name)) continue;
    const takes = taken.length === 0 ? 'it takes no parameters' : `it takes ${taken.length === 1 ? taken[0] : `${taken.slice(0, -1).join(', ')} and ${taken[taken.length - 1]}`}`;
    return badRequest(`${what} does not take '${name.slice(0, 64)}' (${takes})${why ? `: ${why}` : ''}`, name.slice(0, 64));
  }
  return undefined;
}

/** Middleware: refuses (400) a request whose query names a parameter the route does not take (`taken`). */
export function takesQuery(...taken: string[]): RequestHandler {
  return (req, _res, next) => next(unknownParameterProblem(req.query, `${req.method} ${req.path}`, taken));
}

/** A whole-number query parameter within bounds (`fallback` when absent); 400 naming it otherwise. */
export function wholeNumberParam(value: unknown, name: string, fallback: number, min: number, max: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'string' || !/^\d{1,15}$/.test(value)) throw badRequest(`${name} must be a whole number`, name);
  const n = Number(value);
  if (n < min || n > max) throw badRequest(`${name} must be between ${min} and ${max}`, name);
  return n;
}
