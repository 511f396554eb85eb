/** Version ids and ETags: the store speaks bare versionIds (`"3"`), HTTP speaks weak ETags (`W/"3"`). */
import { badRequest } from '../fhir/outcome.js';

/** `W/"3"`, `"3"` or `3` → `3`; anything else is a 400 (an If-Match that can never match is a client error). */
export function versionIdFromEtag(etag: string): string {
  const m = /^(?:W\/)?(?:"(\d{1,15})"|(\d{1,15}))$/.exec(etag.trim());
  const version = m?.[1] ?? m?.[2];
  if (!version) throw badRequest(`If-Match '${etag}' is not a version ETag such as W/"3"`);
  return version;
}

/** The weak ETag of a versionId. */
export function etagOfVersion(versionId: string): string {
  return `W/"${versionId}"`;
}
