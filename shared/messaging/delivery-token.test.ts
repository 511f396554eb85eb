import { createHmac } from 'node:crypto';
import jwt from 'jsonwebtoken';
import type { JtiStore } from '../auth/jti-store.js';
import { staticKeyResolver } from '../auth/jwks-resolver.js';
import { generateKeyPair, publicJwks } from '../auth/keys.js';
import { statusOf } from '../fhir/outcome.js';
import {
  bodyDigest,
  DELIVERY_TOKEN_TTL_SECONDS,
  DELIVERY_TOKEN_TYPE,
  deliveryTokenRefusal,
  rememberDeliveryToken,
  signDeliveryToken,
  verifyDeliveryToken,
  type DeliveryTokenExpectations,
} from './delivery-token.js';

const hubKey = generateKeyPair('ES256').signingKey;
const otherKey = generateKeyPair('ES256').signingKey;
const resolver = staticKeyResolver(publicJwks([hubKey]));
const ISSUER = 'http://localhost:4000/auth';
const body = JSON.stringify({ resourceType: 'Bundle', type: 'message', id: 'm-1' });
const expected: DeliveryTokenExpectations = { issuer: ISSUER, recipient: 'fife-police' };

function signed(overrides: Partial<{ recipient: string; body: string; nowMs: number }> = {}) {
  return signDeliveryToken(
    { messageId: 'msg-1', recipient: overrides.recipient ?? 'fife-police', body: overrides.body ?? body },
    hubKey,
    ISSUER,
    overrides.nowMs,
  );
}

const b64 = (v: object) => Buffer.from(JSON.stringify(v)).toString('base64url');

/** Claims a valid token carries, for hand-built tokens. */
function claims(overrides: Record<string, unknown> = {}) {
  const now = Math.floor(Date.now() / 1000);
  return {
    iss: ISSUER,
    aud: 'fife-police',
    recipient: 'fife-police',
    jti: 'j-1',
    iat: now,
    exp: now + DELIVERY_TOKEN_TTL_SECONDS,
    message_id: 'msg-1',
    body_sha256: bodyDigest(body),
    ...overrides,
  };
}

function signWith(payload: object, header: Record<string, unknown> = {}) {
  return jwt.sign(payload, hubKey.privateKey, {
    algorithm: 'ES256',
    keyid: hubKey.kid,
    header: { alg: 'ES256', typ: DELIVERY_TOKEN_TYPE, ...header },
  });
}

describe('Delivery token', () => {
  it('Verifies a token the hub signed for this recipient and body, returning its claims', async () => {
    const { token, claims: issued } = signed();
    const result = await verifyDeliveryToken(token, Buffer.from(body), resolver, expected);
    expect(result).toEqual({ ok: true, claims: issued });
    expect(issued.exp - issued.iat).toBe(DELIVERY_TOKEN_TTL_SECONDS);
    expect(issued.aud).toBe('fife-police');
    expect(issued.message_id).toBe('msg-1');
  });

  it('Carries the delivery type and the kid the directory publishes in its header', () => {
    const header = jwt.decode(signed().token, { complete: true })?.header;
    expect(header).toMatchObject({ alg: 'ES256', typ: DELIVERY_TOKEN_TYPE, kid: hubKey.kid });
  });

  it('Gives every attempt a fresh jti', () => {
    expect(signed().claims.jti).not.toBe(signed().claims.jti);
  });

  it('Refuses a token signed with another key (forged)', async () => {
    const forged = signDeliveryToken({ messageId: 'msg-1', recipient: 'fife-police', body }, { ...otherKey, kid: hubKey.kid }, ISSUER);
    expect(await verifyDeliveryToken(forged.token, body, resolver, expected)).toEqual({ ok: false, problem: 'invalid-signature' });
  });

  it('Refuses a token signed with a key the issuer does not publish', async () => {
    const other = signDeliveryToken({ messageId: 'msg-1', recipient: 'fife-police', body }, otherKey, ISSUER);
    expect(await verifyDeliveryToken(other.token, body, resolver, expected)).toEqual({ ok: false, problem: 'unknown-signing-key' });
  });

  it('Refuses a token addressed to another agency', async () => {
    const { token } = signed({ recipient: 'fife-council-education' });
    expect(await verifyDeliveryToken(token, body, resolver, expected)).toEqual({ ok: false, problem: 'wrong-audience' });
  });

  it('Refuses a token whose recipient claim differs from its audience', async () => {
    const token = signWith(claims({ recipient: 'fife-council-education' }));
    expect(await verifyDeliveryToken(token, body, resolver, expected)).toEqual({ ok: false, problem: 'wrong-audience' });
  });

  it('Refuses a token naming several audiences', async () => {
    const token = signWith(claims({ aud: ['fife-police', 'fife-council-education'] }));
    expect((await verifyDeliveryToken(token, body, resolver, expected)).ok).toBe(false);
  });

  it('Refuses an expired token', async () => {
    const { token } = signed({ nowMs: Date.now() - (DELIVERY_TOKEN_TTL_SECONDS + 60) * 1000 });
    expect(await verifyDeliveryToken(token, body, resolver, expected)).toEqual({ ok: false, problem: 'expired' });
  });

  it('Refuses a token issued in the future', async () => {
    const { token } = signed({ nowMs: Date.now() + 10 * 60_000 });
    expect(await verifyDeliveryToken(token, body, resolver, expected)).toEqual({ ok: false, problem: 'not-yet-valid' });
  });

  it('Refuses a token that lives longer than the hub ever issues', async () => {
    const now = Math.floor(Date.now() / 1000);
    const token = signWith(claims({ iat: now, exp: now + 86_400 }));
    expect(await verifyDeliveryToken(token, body, resolver, expected)).toEqual({ ok: false, problem: 'lifetime-too-long' });
  });

  it('Refuses a token from another issuer', async () => {
    const token = signWith(claims({ iss: 'http://elsewhere/auth' }));
    expect(await verifyDeliveryToken(token, body, resolver, expected)).toEqual({ ok: false, problem: 'wrong-issuer' });
  });

  it('Refuses a body changed after signing', async () => {
    const { token } = signed();
    const tampered = body.replace('m-1', 'm-2');
    expect(await verifyDeliveryToken(token, tampered, resolver, expected)).toEqual({ ok: false, problem: 'body-digest-mismatch' });
  });

  it('Checks the digest over the exact bytes: the same JSON re-serialised with other spacing does not pass', async () => {
    const { token } = signed();
    const reformatted = JSON.stringify(JSON.parse(body) as object, null, 2);
    expect(await verifyDeliveryToken(token, reformatted, resolver, expected)).toEqual({ ok: false, problem: 'body-digest-mismatch' });
  });

  it('Refuses alg none', async () => {
    const token = `${b64({ alg: 'none', typ: DELIVERY_TOKEN_TYPE, kid: hubKey.kid })}.${b64(claims())}.`;
    expect(await verifyDeliveryToken(token, body, resolver, expected)).toEqual({ ok: false, problem: 'algorithm-not-allowed' });
  });

  it('Refuses HS256 keyed with the published public key (algorithm confusion)', async () => {
    const publicPem = hubKey.publicKey.export({ format: 'pem', type: 'spki' }).toString();
    const head = `${b64({ alg: 'HS256', typ: DELIVERY_TOKEN_TYPE, kid: hubKey.kid })}.${b64(claims())}`;
    const token = `${head}.${createHmac('sha256', publicPem).update(head).digest('base64url')}`;
    expect(await verifyDeliveryToken(token, body, resolver, expected)).toEqual({ ok: false, problem: 'algorithm-not-allowed' });
  });

  it('Refuses an ES384 token even when the issuer published its key', async () => {
    const es384 = generateKeyPair('ES384').signingKey;
    const token = jwt.sign(claims(), es384.privateKey, { algorithm: 'ES384', keyid: es384.kid, header: { alg: 'ES384', typ: DELIVERY_TOKEN_TYPE } });
    const both = staticKeyResolver(publicJwks([hubKey, es384]));
    expect(await verifyDeliveryToken(token, body, both, expected)).toEqual({ ok: false, problem: 'algorithm-not-allowed' });
  });

  it('Refuses a hub access token (same key and algorithm, another type)', async () => {
    const token = signWith(claims(), { typ: 'JWT' });
    expect(await verifyDeliveryToken(token, body, resolver, expected)).toEqual({ ok: false, problem: 'wrong-type' });
  });

  it('Refuses a missing or malformed token, and one missing a claim', async () => {
    expect(await verifyDeliveryToken(undefined, body, resolver, expected)).toEqual({ ok: false, problem: 'missing' });
    expect(await verifyDeliveryToken('not.a.jwt', body, resolver, expected)).toEqual({ ok: false, problem: 'malformed' });
    const { message_id: _dropped, ...withoutMessageId } = claims();
    expect(await verifyDeliveryToken(signWith(withoutMessageId), body, resolver, expected)).toEqual({ ok: false, problem: 'malformed' });
  });

  it('Refuses to sign with a key that is not ES256', () => {
    const rsa = generateKeyPair('RS256').signingKey;
    expect(() => signDeliveryToken({ messageId: 'm', recipient: 'a', body }, rsa, ISSUER)).toThrow(/ES256/);
  });

  it('Answers a refusal with a 401 OperationOutcome that says why', () => {
    const err = deliveryTokenRefusal('body-digest-mismatch');
    expect(statusOf(err)).toBe(401);
    expect(err.outcome.issue[0]?.details?.text).toMatch(/body/);
    expect(deliveryTokenRefusal('replayed').outcome.issue[0]?.details?.text).toMatch(/replay/);
  });

  it('Remembers a jti per recipient until the token can no longer verify, so a replay is told apart', async () => {
    const seen = new Map<string, number>();
    const store: JtiStore = {
      remember: async (client, jti, forgetAfterMs) => {
        const key = `${client} ${jti}`;
        if (seen.has(key)) return false;
        seen.set(key, forgetAfterMs);
        return true;
      },
    };
    const { claims: c } = signed();
    expect(await rememberDeliveryToken(store, c)).toBe(true);
    expect(await rememberDeliveryToken(store, c)).toBe(false);
    expect(seen.get(`delivery/fife-police ${c.jti}`)).toBeGreaterThanOrEqual(c.exp * 1000);
  });

  it('A batch of messages is one token: it names the batch and every message in it, in order', async () => {
    const { token } = signDeliveryToken({ messageId: 'batch-1', messageIds: ['msg-1', 'msg-2'], recipient: 'fife-police', body }, hubKey, ISSUER);
    const verdict = await verifyDeliveryToken(token, body, resolver, expected);
    expect(verdict).toMatchObject({ ok: true, claims: { message_id: 'batch-1', message_ids: ['msg-1', 'msg-2'] } });
    // A single message's token names no list.
    expect(await verifyDeliveryToken(signed().token, body, resolver, expected)).toMatchObject({ ok: true, claims: { message_id: 'msg-1' } });
    expect(((await verifyDeliveryToken(signed().token, body, resolver, expected)) as { claims: object }).claims).not.toHaveProperty('message_ids');
  });

  it('Refuses a batch token whose message list is empty or not a list of ids', async () => {
    for (const bad of [[], 'msg-1', [1, 2], ['']]) {
      expect(await verifyDeliveryToken(signWith(claims({ message_ids: bad })), body, resolver, expected)).toEqual({ ok: false, problem: 'malformed' });
    }
  });
});
