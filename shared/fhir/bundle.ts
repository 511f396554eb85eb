/** Bundle builders: searchset (with paging links), history, transaction-response. */
import type { Bundle, BundleEntry, BundleLink, Resource } from 'fhir/r4.js';
import { etagOfVersion } from '../store/version.js';

export interface SearchPage<T extends Resource> {
  readonly resources: readonly T[];
  /** Omit when revealing the count would leak what was filtered (consent). */
  readonly total?: number;
  readonly offset: number;
  readonly count: number;
  /** Extra entries (e.g. `OperationOutcome` with `search.mode = outcome`). */
  readonly scores?: ReadonlyMap<string, number>;
  /**
   * Paging by position instead of by `_offset` (a result that grows while it is read): the
   * next/previous links set query parameter `param` to these values (and drop `_offset`);
   * a link is left out when its value is.
   */
  readonly cursors?: { readonly param: string; readonly next?: string; readonly previous?: string };
}

/**
 * A searchset Bundle. `selfUrl` is the request URL (absolute); `next`/`previous`
 * links keep every query parameter and move `_offset`, which is what clients
 * such as fhir-kit-client follow. `included` (`_include` / `_revinclude`) follow the
 * matches as `search.mode: include` entries; they are never counted in `total`.
 */
export function searchsetBundle<T extends Resource>(page: SearchPage<T>, selfUrl: URL, baseUrl: string, included: readonly Resource[] = []): Bundle<T> {
  const links: BundleLink[] = [{ relation: 'self', url: selfUrl.toString() }];
  const pageLink = (offset: number): string => {
    const u = new URL(selfUrl.toString());
    u.searchParams.set('_offset', String(offset));
    u.searchParams.set('_count', String(page.count));
    return u.toString();
  };
  const { cursors } = page;
  if (cursors) {
    const cursorLink = (value: string): string => {
      const u = new URL(selfUrl.toString());
      u.searchParams.delete('_offset');
      u.searchParams.set(cursors.param, value);
      u.searchParams.set('_count', String(page.count));
      return u.toString();
    };
    if (cursors.next !== undefined) links.push({ relation: 'next', url: cursorLink(cursors.next) });
    if (cursors.previous !== undefined) links.push({ relation: 'previous', url: cursorLink(cursors.previous) });
  } else {
    const more = page.total !== undefined ? page.offset + page.resources.length < page.total : page.resources.length === page.count;
    if (more && page.resources.length > 0) links.push({ relation: 'next', url: pageLink(page.offset + page.count) });
    if (page.offset > 0) links.push({ relation: 'previous', url: pageLink(Math.max(0, page.offset - page.count)) });
  }
  const bundle: Bundle<T> = {
    resourceType: 'Bundle',
    type: 'searchset',
    link: links,
  };
  // `_summary=count` (and `_count=0`) ask for the total alone: no `entry` at all.
  if (page.count > 0) {
    const entries = page.resources.map((r) => {
      const entry: BundleEntry<T> = { fullUrl: `${baseUrl}/${r.resourceType}/${r.id}`, resource: r, search: { mode: 'match' } };
      const score = r.id ? page.scores?.get(r.id) : undefined;
      if (score !== undefined && entry.search) entry.search.score = score;
      return entry;
    });
    for (const r of included) entries.push({ fullUrl: `${baseUrl}/${r.resourceType}/${r.id}`, resource: r as T, search: { mode: 'include' } });
    // Nothing found: no `entry` either — FHIR JSON has no empty arrays (a strict parser such as Firely's refuses `"entry": []`).
    if (entries.length > 0) bundle.entry = entries;
  }
  if (page.total !== undefined) bundle.total = page.total;
  return bundle;
}

/**
 * A history Bundle, newest version first. Each entry says how its version came about, as a transaction
 * would have answered it: the first a create (`POST [type]`, 201), later ones updates (`PUT [type]/[id]`, 200).
 */
export function historyBundle<T extends Resource>(versions: readonly T[], baseUrl: string): Bundle<T> {
  return {
    resourceType: 'Bundle',
    type: 'history',
    total: versions.length,
    entry: versions.map((r) => {
      const created = r.meta?.versionId === '1';
      return {
        fullUrl: `${baseUrl}/${r.resourceType}/${r.id}`,
        resource: r,
        request: created ? { method: 'POST', url: r.resourceType } : { method: 'PUT', url: `${r.resourceType}/${r.id}` },
        response: { status: created ? '201 Created' : '200 OK', etag: etagOf(r), lastModified: r.meta?.lastUpdated },
      };
    }),
  };
}

/** The `ETag` header value for a resource version (If-Match is read by the store's `versionIdFromEtag`). */
export function etagOf(resource: Resource): string | undefined {
  return resource.meta?.versionId ? etagOfVersion(resource.meta.versionId) : undefined;
}
