/**
 * Conditional read (FHIR R4 §3.1.0.2: `If-None-Match`, `If-Modified-Since` → 304), evaluated as an origin
 * server does (RFC 9110 §13.2.2). Not Express's `req.fresh`: that is a cache's rule and treats a request's
 * `Cache-Control: no-cache` as "never fresh" — which fetch sends with every conditional request, so a
 * client built on fetch (fhir-kit-client) would never get its 304. Pure.
 */

/** The opaque part of an entity tag, weak or strong (`W/"1"` and `"1"` compare equal under weak comparison). */
const opaque = (tag: string) => tag.trim().replace(/^W\//i, '');

/**
 * True when the client's copy is current: `If-None-Match` names the current ETag (or `*`); else, when there
 * is no `If-None-Match`, `If-Modified-Since` is not older than the last change (HTTP dates have whole seconds).
 */
export function notModified(ifNoneMatch: string | undefined, ifModifiedSince: string | undefined, etag: string | undefined, lastModified: string | undefined): boolean {
  if (ifNoneMatch !== undefined) {
    if (etag === undefined) return false;
    const tags = ifNoneMatch.split(',').map((t) => t.trim());
    return tags.includes('*') || tags.some((t) => opaque(t) === opaque(etag));
  }
  if (ifModifiedSince === undefined || lastModified === undefined) return false;
  const since = Date.parse(ifModifiedSince);
  const changed = Date.parse(lastModified);
  return Number.isFinite(since) && Number.isFinite(changed) && Math.floor(changed / 1000) * 1000 <= since;
}
