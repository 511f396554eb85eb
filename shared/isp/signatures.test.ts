import { createSecretKey } from 'node:crypto';
import jwt from 'jsonwebtoken';
import type { Contract } from 'fhir/r4.js';
import { toPublicJwk } from '../auth/keys.js';
import { OperationOutcomeError } from '../fhir/outcome.js';
import { ispDigest } from './canonical.js';
import { APPROVAL_SIGNATURE_TYPE, parseIspContract, signerEntry } from './contract.js';
import { applySignature, signIsp, verifyIspSignatures } from './signatures.js';
import { PARTNER_IDS, publicKeys, signedBy, testIspContract, testKeys } from './test-isp.js';

const keys = testKeys();

function statusOf(contract: Contract, agency: string, registered = publicKeys(keys)) {
  return verifyIspSignatures(contract, registered).partners.find((p) => p.agency === agency)!;
}

/** Replaces one partner's signature with a JWS made by hand. */
function withJws(contract: Contract, agency: string, jws: string): Contract {
  return applySignature(contract, signerEntry({ agency, when: '2026-01-20T10:00:00Z', jws }));
}

describe('signIsp', () => {
  it('Signs a compact ES256 JWS over the ISP id and the digest of its content', () => {
    const contract = testIspContract();
    const { jws, signer } = signIsp(contract, 'test-sw', keys['test-sw']!.privateKey, { now: new Date('2026-01-20T10:00:00Z') });
    const decoded = jwt.decode(jws, { complete: true })!;
    expect(decoded.header).toMatchObject({ alg: 'ES256', kid: toPublicJwk(keys['test-sw']!.privateKey, 'ES256').kid });
    expect(decoded.payload).toEqual({ isp: 'isp-test', digest: ispDigest(contract), iat: 1768903200 });
    expect(signer).toMatchObject({
      type: APPROVAL_SIGNATURE_TYPE,
      party: { reference: 'Organization/test-sw' },
      signature: [{ when: '2026-01-20T10:00:00.000Z', who: { reference: 'Organization/test-sw' }, sigFormat: 'application/jose' }],
    });
    expect(Buffer.from(signer.signature[0]!.data!, 'base64').toString('utf8')).toBe(jws);
  });

  it('Refuses to let an agency that is not a partner sign (403)', () => {
    const outsider = testKeys(['other-ed'])['other-ed']!;
    expect(() => signIsp(testIspContract(), 'other-ed', outsider.privateKey)).toThrow(OperationOutcomeError);
    try {
      signIsp(testIspContract(), 'other-ed', outsider.privateKey);
    } catch (err) {
      expect((err as OperationOutcomeError).status).toBe(403);
    }
  });
});

describe('applySignature', () => {
  it('Replaces a partner’s earlier signature and marks the ISP executed once all partners signed', () => {
    const contract = testIspContract();
    const partly = signedBy(contract, keys, PARTNER_IDS.slice(0, 2));
    expect(partly.status).toBe('offered');
    const resigned = signedBy(partly, keys, ['test-nhs']);
    expect(resigned.signer).toHaveLength(2);
    expect(signedBy(partly, keys, PARTNER_IDS.slice(2)).status).toBe('executed');
  });
});

describe('verifyIspSignatures', () => {
  it('Reports every partner signed and valid when each signed the current content', () => {
    const verification = verifyIspSignatures(signedBy(testIspContract(), keys), publicKeys(keys));
    expect(verification.allPartnersSigned).toBe(true);
    expect(verification.partners.map((p) => p.agency)).toEqual([...PARTNER_IDS]);
    expect(verification.partners.every((p) => p.signed && p.valid)).toBe(true);
  });

  it('Reports a partner that has not signed', () => {
    const contract = signedBy(testIspContract(), keys, PARTNER_IDS.filter((a) => a !== 'test-police'));
    const verification = verifyIspSignatures(contract, publicKeys(keys));
    expect(verification.allPartnersSigned).toBe(false);
    expect(verification.partners.find((p) => p.agency === 'test-police')).toMatchObject({ signed: false, valid: false, reason: 'not-signed' });
  });

  it('Invalidates every signature when the content changes after signing', () => {
    const signed = signedBy(testIspContract(), keys);
    const edited: Contract = { ...signed, term: signed.term!.slice(0, -1) };
    const verification = verifyIspSignatures(edited, publicKeys(keys));
    expect(verification.allPartnersSigned).toBe(false);
    expect(verification.partners.every((p) => p.signed && !p.valid && p.reason === 'stale-content')).toBe(true);
  });

  it('Still accepts the signatures when only meta or status changed (the store rewrites them)', () => {
    const signed = signedBy(testIspContract(), keys);
    const stored: Contract = { ...signed, meta: { versionId: '3', lastUpdated: '2026-02-01T00:00:00Z' }, status: 'amended' };
    expect(verifyIspSignatures(stored, publicKeys(keys)).allPartnersSigned).toBe(true);
  });

  it('Rejects a signature made with a key other than the partner’s registered one', () => {
    const signed = signedBy(testIspContract(), keys);
    const forged = signIsp(signed, 'test-sw', keys['test-police']!.privateKey);
    const contract = applySignature(signed, forged.signer);
    expect(statusOf(contract, 'test-sw')).toMatchObject({ signed: true, valid: false, reason: 'bad-signature' });
  });

  it('Rejects alg none and HS256 keyed with the public key', () => {
    const signed = signedBy(testIspContract(), keys);
    const payload = { isp: 'isp-test', digest: ispDigest(signed), iat: 1768903200 };
    const none = jwt.sign(payload, '', { algorithm: 'none' });
    expect(statusOf(withJws(signed, 'test-sw', none), 'test-sw').reason).toBe('bad-signature');
    const publicPem = keys['test-sw']!.publicKey.export({ format: 'pem', type: 'spki' }).toString();
    const hs = jwt.sign(payload, createSecretKey(Buffer.from(publicPem)), { algorithm: 'HS256' });
    expect(statusOf(withJws(signed, 'test-sw', hs), 'test-sw').reason).toBe('bad-signature');
  });

  it('Rejects a signature copied from another ISP', () => {
    const signed = signedBy(testIspContract(), keys);
    const other = signedBy({ ...testIspContract(), id: 'isp-other' }, keys, ['test-sw']);
    const copied = applySignature(signed, other.signer!.find((s) => s.party.reference === 'Organization/test-sw')!);
    expect(statusOf(copied, 'test-sw').reason).toBe('other-isp');
  });

  it('Reports a partner with no registered key as not valid', () => {
    const registered = publicKeys(keys);
    delete registered['test-edu'];
    expect(statusOf(signedBy(testIspContract(), keys), 'test-edu', registered)).toMatchObject({ signed: true, valid: false, reason: 'no-registered-key' });
  });

  it('Rejects a signature whose `who` names a different organisation', () => {
    const signed = signedBy(testIspContract(), keys);
    const entry = structuredClone(signed.signer!.find((s) => s.party.reference === 'Organization/test-sw')!);
    entry.signature[0]!.who = { reference: 'Organization/test-police' };
    expect(statusOf(applySignature(signed, entry), 'test-sw').reason).toBe('wrong-signer');
  });

  it('Accepts registered keys as JWK objects, JWK JSON strings or PEM', () => {
    const signed = signedBy(testIspContract(), keys);
    const registered = Object.fromEntries(
      PARTNER_IDS.map((agency, i) => {
        const key = keys[agency]!.publicKey;
        const jwk = key.export({ format: 'jwk' });
        const forms = [jwk, JSON.stringify(jwk), key.export({ format: 'pem', type: 'spki' }).toString()];
        return [agency, forms[i % 3]!];
      }),
    );
    expect(verifyIspSignatures(signed, registered).allPartnersSigned).toBe(true);
  });

  it('Refuses a malformed ISP with 422 rather than reporting it signed', () => {
    const signed = signedBy(testIspContract(), keys);
    expect(() => verifyIspSignatures({ ...signed, applies: undefined }, publicKeys(keys))).toThrow(OperationOutcomeError);
  });

  it('Keeps the parsed signatures readable for $verify', () => {
    const doc = parseIspContract(signedBy(testIspContract(), keys));
    expect(doc.signatures.map((s) => s.agency)).toEqual([...PARTNER_IDS]);
    expect(doc.signatures[0]!.jws.split('.')).toHaveLength(3);
  });
});
