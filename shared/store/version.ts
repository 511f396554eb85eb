/** Version ids and ETags: the store speaks bare versionIds (`"3"`), HTTP speaks weak ETags (`W/"3"`). */
import { badRequest } from '../fhir/outcome.js';

const VERSION_ETAG = /^(?:W\/)?(?:"(\d{1,15})"|(\d{1,15}))$/;

/** `W/"3"`, `"3"` or `3` → `3`; anything else is a 400 (an If-Match that can never match is a client error). */
export function versionIdFromEtag(etag: string, header = 'If-Match'): string {
  const m = VERSION_ETAG.exec(etag.trim());
  const version = m?.[1] ?? m?.[2];
  if (!version) throw badRequest(`${header} '${etag.slice(0, 100)}' is not a version ETag such as W/"3" (or *)`, header);
  return version;
}

/** The weak ETag of a versionId. */
export function etagOfVersion(versionId: string): string {
  return `W/"${versionId}"`;
}

/**
 * What an `If-Match` or `If-None-Match` header asks about the current version (RFC 9110 §13.1.1-2): `*` — that there is
 * one (any version); else one of the listed versions, each a version ETag (`W/"3"`, `"3"`, `3`), compared weakly as
 * FHIR's weak ETags are. An element that is not a version ETag is a 400: a condition that can never hold is a client's
 * mistake, not a 412.
 */
export type VersionCondition = { readonly any: true } | { readonly versions: readonly string[] };

export function versionCondition(header: string, name = 'If-Match'): VersionCondition {
  if (header.trim() === '*') return { any: true };
  const elements = header.split(',').map((e) => e.trim()).filter((e) => e !== '');
  if (elements.length === 0) throw badRequest(`${name} is empty: send the version you last read (W/"3") or *`, name);
  if (elements.length > 100) throw badRequest(`${name} lists ${elements.length} versions; at most 100`, name);
  return { versions: [...new Set(elements.map((e) => versionIdFromEtag(e, name)))] };
}

/** Whether a condition holds of the current version (`undefined`: there is none — never written, or deleted). */
export function conditionHolds(condition: VersionCondition, current: string | undefined): boolean {
  if ('any' in condition) return current !== undefined;
  return current !== undefined && condition.versions.includes(current);
}

/** How the condition reads in a sentence (`*`, `W/"3"` or `W/"3", W/"4"`). */
export function conditionText(condition: VersionCondition): string {
  return 'any' in condition ? '*' : condition.versions.map(etagOfVersion).join(', ');
}

/**
 * The write script's precondition argument (shared/store/scripts.ts): `<If-Match>!<If-None-Match>`, each part empty
 * (no condition), `*`, or a list of versionIds written `,3,4,`. Empty when neither is given.
 */
export function preconditionArg(ifMatch: VersionCondition | undefined, ifNoneMatch: VersionCondition | undefined): string {
  const part = (c: VersionCondition | undefined) => (c === undefined ? '' : 'any' in c ? '*' : `,${c.versions.join(',')},`);
  return ifNoneMatch === undefined ? part(ifMatch) : `${part(ifMatch)}!${part(ifNoneMatch)}`;
}
