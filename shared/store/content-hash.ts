/**
 * A digest of a resource's content, ignoring what the store itself sets
 * (`meta.versionId`, `meta.lastUpdated`) and JSON key order — so loading the same
 * fixture twice is recognised as "unchanged" and makes no new version.
 */
import { createHash } from 'node:crypto';
import type { Resource } from 'fhir/r4.js';

/** base64url SHA-256 of the resource's canonical content, plus `extra` (anything else that must match to count as unchanged). */
export function contentHash(resource: Resource, extra = ''): string {
  const { meta, ...rest } = resource;
  const { versionId: _versionId, lastUpdated: _lastUpdated, ...metaRest } = meta ?? {};
  const content = Object.keys(metaRest).length > 0 ? { ...rest, meta: metaRest } : rest;
  return createHash('sha256').update(sortedJson(content)).update(extra).digest('base64url');
}

/** JSON with object keys sorted at every depth; `undefined` members dropped as JSON.stringify does. */
export function sortedJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map((item) => (item === undefined ? 'null' : sortedJson(item))).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const record = value as Record<string, unknown>;
    const members = Object.keys(record)
      .filter((key) => record[key] !== undefined)
      .sort()
      .map((key) => `${JSON.stringify(key)}:${sortedJson(record[key])}`);
    return `{${members.join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}
