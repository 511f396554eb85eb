/**
 * A JWT's header and payload read without verifying anything — only to pick the key and the
 * checks that then verify it. One home because `jwt.decode` throws (rather than returning null)
 * when the header says `typ: JWT` and the payload is not JSON: a token of garbage was a 500.
 * It also hands back parts that are JSON but not objects (a header `"x"` or `5`, a payload
 * `null`), which its callers then read as objects: `'crit' in "x"` threw (a 500 on every route
 * of every service) and so did `null.iss` at the token endpoint. RFC 7515 §4 and RFC 7519 §7.2
 * make both parts JSON objects, so anything else is not a JWT here.
 */
import jwt from 'jsonwebtoken';

/** The token's parts, or null when it is not a JWT whose header and payload are JSON objects. */
export function unverifiedJwt(token: string): jwt.Jwt | null {
  let decoded: jwt.Jwt | null;
  try {
    decoded = jwt.decode(token, { complete: true });
  } catch {
    return null;
  }
  if (!decoded || !isJsonObject(decoded.header) || !isJsonObject(decoded.payload)) return null;
  return decoded;
}

function isJsonObject(value: unknown): boolean {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
