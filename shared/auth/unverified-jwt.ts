/**
 * A JWT's header and payload read without verifying anything — only to pick the key and the
 * checks that then verify it. One home because `jwt.decode` throws (rather than returning null)
 * when the header says `typ: JWT` and the payload is not JSON: a token of garbage was a 500.
 */
import jwt from 'jsonwebtoken';

/** The token's parts, or null when it is not a JWT whose parts are JSON. */
export function unverifiedJwt(token: string): jwt.Jwt | null {
  try {
    return jwt.decode(token, { complete: true });
  } catch {
    return null;
  }
}
