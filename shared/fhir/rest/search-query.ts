/**
 * The search parameters of a request: the URL's query, plus the form-encoded body
 * of `POST [type]/_search` (what fhir-kit-client sends with `postSearch: true`).
 * Shared by every search route, so a GET and a POST search are the same search.
 *
 * FHIR R4 (3.1.1.3.4) has the server combine the URL's and the body's parameters. A
 * parameter that takes one value (`_count`, `_offset`, … — `single`) given in both has
 * no one meaning: refused with a 400 naming both places, never a guess at which counts.
 */
import type { Request, Response } from 'express';
import { RESULT_PARAMS } from '../../store/search-params.js';
import { badRequest } from '../outcome.js';
import { isUnservedSearchParameter } from '../unserved-search-parameter.js';

export function searchQueryOf(req: Request, single: readonly string[] = RESULT_PARAMS): URLSearchParams {
  const query = new URL(req.originalUrl, 'http://localhost').searchParams;
  if (req.method === 'POST' && req.is('application/x-www-form-urlencoded') && typeof req.body === 'object' && req.body !== null) {
    for (const [key, value] of Object.entries(req.body as Record<string, unknown>)) {
      if (single.includes(key) && query.has(key)) {
        throw badRequest(`'${key}' is given both in the URL (${key}=${(query.get(key) ?? '').slice(0, 40)}) and in the body; give it once`, key);
      }
      for (const v of Array.isArray(value) ? value : [value]) {
        if (typeof v !== 'string') throw badRequest(`Search parameter '${key}' has a value that is not text`, key);
        query.append(key, v);
      }
    }
  }
  return query;
}

/** `Prefer: handling=lenient` (R4 §3.1.1.4): the client would rather have unserved search parameters ignored than refused. */
export function prefersLenientSearch(req: Request): boolean {
  return /(?:^|[\s,;])handling\s*=\s*"?lenient"?(?:$|[\s,;])/i.test(req.header('prefer') ?? '');
}

/**
 * Runs a search on `query` (the caller's `searchQueryOf(req)`, which `search` reads). Strict by default: a
 * parameter the search does not serve is its 400 (`unserved-search-parameter.ts`). With `Prefer:
 * handling=lenient` that parameter is dropped from `query` and the search planned again without it, as R4
 * §3.1.1.4 asks; `Preference-Applied: handling=lenient` says so, and a self link built from `query` afterwards
 * shows only the parameters used. Each retry removes a key the query had, so it ends. Searches throw the refusal
 * while planning, before reading anything, so a retry repeats no read.
 */
export async function servedSearch<T>(req: Request, res: Response, query: URLSearchParams, search: () => T | Promise<T>): Promise<T> {
  const lenient = prefersLenientSearch(req);
  for (;;) {
    try {
      return await search();
    } catch (e) {
      if (!lenient || !isUnservedSearchParameter(e) || !query.has(e.parameter)) throw e;
      query.delete(e.parameter);
      res.setHeader('Preference-Applied', 'handling=lenient');
    }
  }
}
