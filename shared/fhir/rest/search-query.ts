/**
 * The search parameters of a request: the URL's query, plus the form-encoded body
 * of `POST [type]/_search` (what fhir-kit-client sends with `postSearch: true`).
 * Shared by every search route, so a GET and a POST search are the same search.
 */
import type { Request } from 'express';
import { badRequest } from '../outcome.js';

export function searchQueryOf(req: Request): URLSearchParams {
  const query = new URL(req.originalUrl, 'http://localhost').searchParams;
  if (req.method === 'POST' && req.is('application/x-www-form-urlencoded') && typeof req.body === 'object' && req.body !== null) {
    for (const [key, value] of Object.entries(req.body as Record<string, unknown>)) {
      for (const v of Array.isArray(value) ? value : [value]) {
        if (typeof v !== 'string') throw badRequest(`Search parameter '${key}' has a value that is not text`, key);
        query.append(key, v);
      }
    }
  }
  return query;
}
