/**
 * FHIR operation names begin with `$` (`/fhir/Patient/$match`). Some clients and proxies percent-encode it
 * (`/fhir/Patient/%24match`): RFC 3986 lets a sub-delimiter's encoding mean something else, but in a FHIR path
 * it cannot — no resource type or id holds a `$` or a `%` — so the hub reads `%24` opening a path segment as
 * the `$` it stands for, as HAPI does (it was the `:id` routes' 405, or a 404). Only the routing path is
 * rewritten: the request as sent (`originalUrl`) is what the exchange's audit record keeps.
 */
const ENCODED_OPERATION = /\/%24(?=[A-Za-z])/gi;

/** `url` with a percent-encoded `$` opening any segment of its path decoded; the query is left as sent. */
export function withOperationDollar(url: string): string {
  const q = url.indexOf('?');
  const path = q < 0 ? url : url.slice(0, q);
  if (!path.includes('%24')) return url;
  return path.replace(ENCODED_OPERATION, '/$') + (q < 0 ? '' : url.slice(q));
}
