/**
 * A digest of a resource's content, ignoring what the store itself sets
 * (`meta.versionId`, `meta.lastUpdated`) and JSON key order — so loading the same
 * fixture twice is recognised as "unchanged" and makes no new version.
 */
import { createHash } from 'node:crypto';
import type { Resource } from 'fhir/r4.js';
import { canonicalJson } from '../canonical-json.js';

/** base64url SHA-256 of the resource's canonical content, plus `extra` (anything else that must match to count as unchanged). */
export function contentHash(resource: Resource, extra = ''): string {
  const { meta, ...rest } = resource;
  const { versionId: _versionId, lastUpdated: _lastUpdated, ...metaRest } = meta ?? {};
  const content = Object.keys(metaRest).length > 0 ? { ...rest, meta: metaRest } : rest;
  return createHash('sha256').update(canonicalJson(content)).update(extra).digest('base64url');
}
