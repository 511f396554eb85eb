/**
 * The canonical content of an ISP and its digest: what every partner's
 * signature covers.
 *
 * Canonical content = the Contract without `meta` (the store rewrites it on
 * every save), `signer` (signatures cannot cover themselves), `status` (it
 * follows from the signatures) and `text` (a rendering, not the agreement).
 * Everything else — partners, flows, review date, PIA reference — is covered,
 * so changing any of it after signing invalidates every signature.
 *
 * Serialisation follows RFC 8785 (JSON Canonicalization Scheme) closely
 * enough for FHIR JSON: object keys sorted by UTF-16 code units (JavaScript's
 * default string order, as RFC 8785 requires), no whitespace, strings and
 * numbers as `JSON.stringify` writes them (ECMAScript number formatting, as
 * RFC 8785 prescribes). Limits, acceptable for our data:
 * - it works on parsed JSON values, so FHIR decimals lose trailing zeros
 *   (`1.50` → `1.5`) and integers beyond 2^53 lose precision before they get
 *   here — an ISP carries neither;
 * - `undefined` members are dropped (as JSON.stringify would), non-finite
 *   numbers and non-JSON values are refused rather than guessed at;
 * - strings are not Unicode-normalised, so `é` precomposed and decomposed
 *   differ (RFC 8785 does not normalise either).
 */
import { createHash } from 'node:crypto';
import type { Contract } from 'fhir/r4.js';
import { canonicalJson } from '../canonical-json.js';

/** Members left out of the signed content; see the module comment for why. */
const UNSIGNED_MEMBERS: readonly string[] = ['meta', 'signer', 'status', 'text'];

/** The part of an ISP Contract that signatures cover, as canonical JSON. */
export function ispCanonicalContent(contract: Contract): string {
  const signed: Record<string, unknown> = {};
  for (const [key, member] of Object.entries(contract)) {
    if (!UNSIGNED_MEMBERS.includes(key)) signed[key] = member;
  }
  return canonicalJson(signed);
}

/** SHA-256 of the canonical content, base64url (no padding): the `digest` each partner signs. */
export function ispDigest(contract: Contract): string {
  return createHash('sha256').update(ispCanonicalContent(contract), 'utf8').digest('base64url');
}
