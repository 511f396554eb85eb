import { createPublicKey, generateKeyPairSync } from 'node:crypto';
import { generateKeyPair, jwkThumbprint, keyFitsAlgorithm, keyObjectFromJwk, loadSigningKey, publicJwks, signingKeyForAlgorithms } from './keys.js';

describe('Signing keys', () => {
  it('Loads an EC P-256 PEM as an ES256 key with an RFC 7638 thumbprint kid', () => {
    const { privateKeyPem } = generateKeyPair('ES256');
    const key = loadSigningKey(privateKeyPem);
    expect(key.alg).toBe('ES256');
    expect(key.publicJwk).toMatchObject({ kty: 'EC', crv: 'P-256', alg: 'ES256', use: 'sig', kid: key.kid });
    expect(key.kid).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });

  it('Computes the thumbprint of the RFC 7638 example key', () => {
    // RFC 7638 §3.1 example RSA key and its published thumbprint.
    const n =
      '0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw';
    expect(jwkThumbprint({ kty: 'RSA', n, e: 'AQAB' })).toBe('NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs');
  });

  it('Gives the same kid to the same key whichever way it is loaded', () => {
    const { privateKeyPem, publicJwk } = generateKeyPair('ES256');
    expect(loadSigningKey(privateKeyPem).kid).toBe(publicJwk.kid);
    expect(jwkThumbprint(publicJwk)).toBe(publicJwk.kid);
  });

  it('Loads an RSA key as RS256, or PS256 when asked', () => {
    const { privateKeyPem } = generateKeyPair('RS256');
    expect(loadSigningKey(privateKeyPem).alg).toBe('RS256');
    expect(loadSigningKey(privateKeyPem, 'PS256')).toMatchObject({ alg: 'PS256', publicJwk: { kty: 'RSA', e: 'AQAB' } });
  });

  it('Refuses a key that does not fit the requested algorithm', () => {
    const { privateKeyPem } = generateKeyPair('ES256');
    expect(() => loadSigningKey(privateKeyPem, 'RS256')).toThrow('does not fit RS256');
    expect(() => loadSigningKey(privateKeyPem, 'ES384')).toThrow('does not fit ES384');
  });

  it('Refuses RSA keys shorter than 2048 bits', () => {
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 1024 });
    expect(() => loadSigningKey(privateKey.export({ format: 'pem', type: 'pkcs8' }))).toThrow('does not fit RS256');
  });

  it('Refuses text that is not a PEM private key without echoing it', () => {
    expect(() => loadSigningKey('-----BEGIN PRIVATE KEY-----\nsecret-material\n-----END PRIVATE KEY-----')).toThrow(
      'Signing key is not a readable PEM private key',
    );
  });

  it('Publishes only public members in the JWKS', () => {
    const a = generateKeyPair('ES256').signingKey;
    const b = generateKeyPair('RS256').signingKey;
    const jwks = publicJwks([a, b]);
    expect(jwks.keys.map((k) => k.kid)).toEqual([a.kid, b.kid]);
    for (const k of jwks.keys) {
      for (const privateMember of ['d', 'p', 'q', 'dp', 'dq', 'qi']) expect(k).not.toHaveProperty(privateMember);
    }
  });

  it('Turns a published JWK back into a verifying public key', () => {
    const { signingKey, publicJwk } = generateKeyPair('ES256');
    const key = keyObjectFromJwk(publicJwk);
    expect(key.type).toBe('public');
    expect(key.equals(signingKey.publicKey)).toBe(true);
  });

  it('Turns a JWK that carries private members into a public key only', () => {
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const privateJwk = privateKey.export({ format: 'jwk' });
    const key = keyObjectFromJwk(privateJwk);
    expect(key.type).toBe('public');
    expect(key.equals(createPublicKey(privateKey))).toBe(true);
  });

  it('Refuses symmetric and malformed JWKs', () => {
    expect(() => keyObjectFromJwk({ kty: 'oct', k: 'c2VjcmV0' })).toThrow('EC or RSA');
    expect(() => keyObjectFromJwk({ kty: 'EC', crv: 'P-256', x: 'AAAA', y: 'AAAA' })).toThrow('not a valid public key');
    expect(() => keyObjectFromJwk('{"kty":"EC"}')).toThrow('not an object');
  });

  it('Matches keys to algorithms by type and curve', () => {
    const ec = generateKeyPair('ES256').signingKey.publicKey;
    const ec384 = generateKeyPair('ES384').signingKey.publicKey;
    const rsa = generateKeyPair('RS256').signingKey.publicKey;
    expect(keyFitsAlgorithm(ec, 'ES256')).toBe(true);
    expect(keyFitsAlgorithm(ec, 'ES384')).toBe(false);
    expect(keyFitsAlgorithm(ec384, 'ES384')).toBe(true);
    expect(keyFitsAlgorithm(rsa, 'RS256')).toBe(true);
    expect(keyFitsAlgorithm(rsa, 'PS256')).toBe(true);
    expect(keyFitsAlgorithm(rsa, 'ES256')).toBe(false);
  });
});

describe('Token signing key from config', () => {
  it('Uses the first configured algorithm the key fits', () => {
    const rsaPem = generateKeyPair('RS256').privateKeyPem;
    expect(signingKeyForAlgorithms(rsaPem, ['ES256', 'PS256', 'RS256']).alg).toBe('PS256');
    const ecPem = generateKeyPair('ES256').privateKeyPem;
    expect(signingKeyForAlgorithms(ecPem, ['ES256']).alg).toBe('ES256');
  });

  it('Refuses at start-up a key that fits none of the configured algorithms', () => {
    const ecPem = generateKeyPair('ES256').privateKeyPem;
    expect(() => signingKeyForAlgorithms(ecPem, ['RS256', 'ES384'])).toThrow('fits none of the configured token algorithms (RS256, ES384)');
  });
});
