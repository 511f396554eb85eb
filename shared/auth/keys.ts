/**
 * Signing keys and their public JWKs.
 *
 * The directory signs access tokens with the partnership key (a PEM file);
 * every service verifies them with the public half, published as a JWKS.
 * Agency systems register their own public JWK and sign client assertions
 * with the private half. Key ids are RFC 7638 thumbprints, so the same key
 * always gets the same `kid` without anyone having to choose one.
 */
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, type JsonWebKey, type KeyObject } from 'node:crypto';
import { readFile } from 'node:fs/promises';

/** Asymmetric algorithms the hub accepts. HMAC and `none` are never accepted anywhere. */
export const SIGNING_ALGORITHMS = ['ES256', 'ES384', 'RS256', 'RS384', 'PS256', 'PS384'] as const;
export type SigningAlgorithm = (typeof SIGNING_ALGORITHMS)[number];

/** RSA keys shorter than this are refused (NIST SP 800-131A). */
const MIN_RSA_BITS = 2048;

/** A public key as published in a JWKS: only public members, plus `kid`, `alg`, `use`. */
export interface PublicJwk {
  readonly kty: 'EC' | 'RSA';
  readonly kid: string;
  readonly alg: SigningAlgorithm;
  readonly use: 'sig';
  readonly crv?: string;
  readonly x?: string;
  readonly y?: string;
  readonly n?: string;
  readonly e?: string;
}

export interface Jwks {
  readonly keys: readonly PublicJwk[];
}

/** A private key ready to sign, with everything a verifier needs to know about it. */
export interface SigningKey {
  readonly kid: string;
  readonly alg: SigningAlgorithm;
  readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
  readonly publicJwk: PublicJwk;
}

export function isSigningAlgorithm(alg: unknown): alg is SigningAlgorithm {
  return typeof alg === 'string' && (SIGNING_ALGORITHMS as readonly string[]).includes(alg);
}

/**
 * Loads a PEM private key (PKCS#8, SEC1 or PKCS#1). Without `alg`, the key
 * decides: P-256 → ES256, P-384 → ES384, RSA → RS256. With `alg`, the key must fit it.
 */
export function loadSigningKey(pem: string | Buffer, alg?: SigningAlgorithm): SigningKey {
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey(pem);
  } catch {
    // The parser's message can quote key material; say only what went wrong.
    throw new Error('Signing key is not a readable PEM private key');
  }
  return signingKeyFrom(privateKey, alg);
}

export async function loadSigningKeyFile(file: string, alg?: SigningAlgorithm): Promise<SigningKey> {
  const pem = await readFile(file);
  try {
    return loadSigningKey(pem, alg);
  } catch (err) {
    throw new Error(`${(err as Error).message}: ${file}`, { cause: err });
  }
}

/**
 * The partnership's token-signing key, from config: the PEM file, used with the
 * first configured algorithm (`INFOSHARE_TOKEN_ALGORITHMS`) it fits. Fails at
 * start-up when it fits none — otherwise every service would refuse every token.
 */
export async function loadTokenSigningKey(token: {
  readonly signingKeyFile: string;
  readonly algorithms: readonly SigningAlgorithm[];
}): Promise<SigningKey> {
  const pem = await readFile(token.signingKeyFile);
  try {
    return signingKeyForAlgorithms(pem, token.algorithms);
  } catch (err) {
    throw new Error(`${(err as Error).message}: ${token.signingKeyFile}`, { cause: err });
  }
}

/** A PEM private key paired with the first of `algorithms` it fits. */
export function signingKeyForAlgorithms(pem: string | Buffer, algorithms: readonly SigningAlgorithm[]): SigningKey {
  const { privateKey } = loadSigningKey(pem);
  const alg = algorithms.find((a) => keyFitsAlgorithm(privateKey, a));
  if (!alg) throw new Error(`Signing key fits none of the configured token algorithms (${algorithms.join(', ')})`);
  return signingKeyFrom(privateKey, alg);
}

function signingKeyFrom(privateKey: KeyObject, alg?: SigningAlgorithm): SigningKey {
  const publicKey = createPublicKey(privateKey);
  const chosen = alg ?? defaultAlgorithm(publicKey);
  assertKeyFitsAlgorithm(publicKey, chosen);
  const publicJwk = toPublicJwk(publicKey, chosen);
  return { kid: publicJwk.kid, alg: chosen, privateKey, publicKey, publicJwk };
}

function defaultAlgorithm(key: KeyObject): SigningAlgorithm {
  if (key.asymmetricKeyType === 'rsa') return 'RS256';
  if (key.asymmetricKeyType === 'ec') {
    const curve = key.asymmetricKeyDetails?.namedCurve;
    if (curve === 'prime256v1') return 'ES256';
    if (curve === 'secp384r1') return 'ES384';
  }
  throw new Error('Unsupported key type: use an EC P-256/P-384 or RSA (2048+ bit) key');
}

/** Whether a public (or private) key can be used with `alg`: right type, curve and size. */
export function keyFitsAlgorithm(key: KeyObject, alg: SigningAlgorithm): boolean {
  if (key.type === 'secret') return false;
  const details = key.asymmetricKeyDetails;
  switch (alg) {
    case 'ES256':
      return key.asymmetricKeyType === 'ec' && details?.namedCurve === 'prime256v1';
    case 'ES384':
      return key.asymmetricKeyType === 'ec' && details?.namedCurve === 'secp384r1';
    case 'RS256':
    case 'RS384':
    case 'PS256':
    case 'PS384':
      // PS* accepts plain RSA keys as well as RSA-PSS ones; RS* needs plain RSA.
      return (
        (key.asymmetricKeyType === 'rsa' || (alg.startsWith('PS') && key.asymmetricKeyType === 'rsa-pss')) &&
        (details?.modulusLength ?? 0) >= MIN_RSA_BITS
      );
  }
}

function assertKeyFitsAlgorithm(key: KeyObject, alg: SigningAlgorithm): void {
  if (!keyFitsAlgorithm(key, alg)) {
    throw new Error(`Key does not fit ${alg} (ES256 needs P-256, ES384 P-384, RS*/PS* an RSA key of ${MIN_RSA_BITS}+ bits)`);
  }
}

/** The public JWK of a key, with its RFC 7638 thumbprint as `kid`. Private members never leave. */
export function toPublicJwk(key: KeyObject, alg: SigningAlgorithm): PublicJwk {
  const publicKey = key.type === 'private' ? createPublicKey(key) : key;
  const jwk = publicKey.export({ format: 'jwk' });
  if (jwk.kty === 'EC' && jwk.crv && jwk.x && jwk.y) {
    const members = { crv: jwk.crv, kty: 'EC' as const, x: jwk.x, y: jwk.y };
    return { ...members, kid: jwkThumbprint(members), alg, use: 'sig' };
  }
  if (jwk.kty === 'RSA' && jwk.n && jwk.e) {
    const members = { e: jwk.e, kty: 'RSA' as const, n: jwk.n };
    return { ...members, kid: jwkThumbprint(members), alg, use: 'sig' };
  }
  throw new Error('Unsupported key type: use an EC P-256/P-384 or RSA (2048+ bit) key');
}

/**
 * RFC 7638 JWK thumbprint (SHA-256, base64url): the hash of the key's
 * required members only, in lexicographic order, with no whitespace.
 */
export function jwkThumbprint(jwk: Pick<JsonWebKey, 'kty' | 'crv' | 'x' | 'y' | 'n' | 'e'>): string {
  let canonical: string;
  if (jwk.kty === 'EC') {
    canonical = JSON.stringify({ crv: jwk.crv, kty: 'EC', x: jwk.x, y: jwk.y });
  } else if (jwk.kty === 'RSA') {
    canonical = JSON.stringify({ e: jwk.e, kty: 'RSA', n: jwk.n });
  } else {
    throw new Error(`Unsupported JWK key type for a thumbprint: ${String(jwk.kty)}`);
  }
  return createHash('sha256').update(canonical).digest('base64url');
}

/** The document served at `GET /auth/jwks.json`. */
export function publicJwks(keys: readonly SigningKey[]): Jwks {
  return { keys: keys.map((k) => k.publicJwk) };
}

/**
 * A verifying KeyObject from a JWK (a bare JWK object is not key material for
 * jsonwebtoken). Refuses symmetric (`oct`) keys: a shared secret must never
 * stand in for an agency's public key.
 */
export function keyObjectFromJwk(jwk: unknown): KeyObject {
  if (typeof jwk !== 'object' || jwk === null) throw new Error('JWK is not an object');
  const { kty } = jwk as { kty?: unknown };
  if (kty !== 'EC' && kty !== 'RSA') throw new Error('JWK must be an EC or RSA public key');
  // Only the public members go in, so a JWK that carries private parts still yields a public key.
  const j = jwk as JsonWebKey;
  const publicMembers: JsonWebKey = kty === 'EC' ? { kty, crv: j.crv, x: j.x, y: j.y } : { kty, n: j.n, e: j.e };
  try {
    return createPublicKey({ key: publicMembers, format: 'jwk' });
  } catch {
    throw new Error('JWK is not a valid public key');
  }
}

/** A generated key pair (tests, demo-key generation). The PEM is PKCS#8. */
export interface GeneratedKeyPair {
  readonly privateKeyPem: string;
  readonly publicJwk: PublicJwk;
  readonly signingKey: SigningKey;
}

export function generateKeyPair(alg: SigningAlgorithm = 'ES256'): GeneratedKeyPair {
  const { privateKey } = alg.startsWith('ES')
    ? generateKeyPairSync('ec', { namedCurve: alg === 'ES256' ? 'P-256' : 'P-384' })
    : generateKeyPairSync('rsa', { modulusLength: MIN_RSA_BITS });
  const signingKey = signingKeyFrom(privateKey, alg);
  const privateKeyPem = privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
  return { privateKeyPem, publicJwk: signingKey.publicJwk, signingKey };
}
