/**
 * Partner signatures on an ISP.
 *
 * Each partner signs a compact JWS (ES256) with its own registered key over
 * `{ isp: <Contract id>, digest: <sha256 of the canonical content>, iat }`.
 * A signature counts only when it verifies with the key the directory holds
 * for that partner AND its digest matches the ISP as it is now: editing a
 * flow, a partner or the review date after signing voids every signature
 * until each partner signs the new content (IM-L4).
 */
import { createPrivateKey, createPublicKey, type JsonWebKey, type KeyObject } from 'node:crypto';
import jwt from 'jsonwebtoken';
import type { Contract, ContractSigner } from 'fhir/r4.js';
import { toPublicJwk } from '../auth/keys.js';
import { forbidden } from '../fhir/outcome.js';
import { ispDigest } from './canonical.js';
import { ISP_SIGNATURE_FORMAT, agencyIdOf, parseIspContract, signerEntry, statusFor, type IspSignature } from './contract.js';

/** The only algorithm an ISP signature may use (agency keys are P-256). */
const ISP_SIGNATURE_ALGORITHMS: jwt.Algorithm[] = ['ES256'];

/** The JWS payload each partner signs. */
export interface IspSignaturePayload {
  readonly isp: string;
  readonly digest: string;
  readonly iat: number;
}

/** A partner's public key as the directory holds it: a KeyObject, a JWK, or its JSON / a PEM string. */
export type IspPublicKey = KeyObject | JsonWebKey | string;

export type PublicKeysByAgency = ReadonlyMap<string, IspPublicKey> | Readonly<Record<string, IspPublicKey | undefined>>;

/** Why a partner's signature does not count. */
export type SignatureProblem =
  | 'not-signed'
  | 'no-registered-key'
  | 'malformed'
  | 'wrong-signer'
  | 'bad-signature'
  | 'other-isp'
  | 'stale-content';

export interface PartnerSignatureStatus {
  readonly agency: string;
  /** A signer entry exists for this partner. */
  readonly signed: boolean;
  /** It verifies with the partner's registered key and covers the current content. */
  readonly valid: boolean;
  readonly when?: string;
  readonly reason?: SignatureProblem;
  readonly detail?: string;
}

export interface IspVerification {
  readonly isp: string;
  /** Digest of the content as verified. */
  readonly digest: string;
  /** One entry per partner, in `authority` order. */
  readonly partners: readonly PartnerSignatureStatus[];
  /** Every partner signed and every signature is valid for the current content. */
  readonly allPartnersSigned: boolean;
}

/**
 * Signs the ISP as `agencyId`. Returns the compact JWS and the `signer`
 * entry to put in the Contract (`applySignature`). Only a partner may sign.
 */
export function signIsp(
  contract: Contract,
  agencyId: string,
  privateKey: KeyObject | string,
  options: { now?: Date } = {},
): { jws: string; signer: ContractSigner } {
  const isp = parseIspContract(contract);
  if (!isp.partners.some((p) => p.agency === agencyId)) {
    throw forbidden(`${agencyId} is not a partner of ISP ${isp.id}, so it cannot sign it`);
  }
  const now = options.now ?? new Date();
  const payload: IspSignaturePayload = { isp: isp.id, digest: ispDigest(contract), iat: Math.floor(now.getTime() / 1000) };
  const key = typeof privateKey === 'string' ? createPrivateKey(privateKey) : privateKey;
  // kid = RFC 7638 thumbprint, as for every key in the hub, so a verifier can tell rotated keys apart.
  const jws = jwt.sign(payload, key, { algorithm: 'ES256', keyid: toPublicJwk(key, 'ES256').kid });
  const signature: IspSignature = { agency: agencyId, when: now.toISOString(), jws };
  return { jws, signer: signerEntry(signature) };
}

/**
 * The Contract with `signer` added for its party, replacing that party's
 * earlier signature, and `status` updated (see contract.ts: a hint only).
 */
export function applySignature(contract: Contract, signer: ContractSigner): Contract {
  const party = agencyIdOf(signer.party.reference);
  const signers = [...(contract.signer ?? []).filter((s) => agencyIdOf(s.party?.reference) !== party), signer];
  const partners = (contract.authority ?? []).map((a) => agencyIdOf(a.reference)).filter((a): a is string => a !== undefined);
  return { ...contract, signer: signers, status: statusFor(partners, signers) };
}

/** Reports, for every partner, whether it signed and whether its signature holds for the current content. */
export function verifyIspSignatures(contract: Contract, publicKeysByAgency: PublicKeysByAgency): IspVerification {
  const isp = parseIspContract(contract);
  const digest = ispDigest(contract);
  const partners = isp.partners.map(({ agency }): PartnerSignatureStatus => {
    const own = isp.signatures.filter((s) => s.agency === agency);
    if (own.length === 0) {
      return { agency, signed: false, valid: false, reason: 'not-signed', detail: `${agency} has not signed ISP ${isp.id}` };
    }
    const key = publicKeyOf(publicKeysByAgency, agency);
    // Several entries for one partner can only come from hand edits; any valid one counts.
    const results = own.map((signature) => checkSignature(signature, key, isp.id, digest));
    return results.find((r) => r.valid) ?? results[0]!;
  });
  return { isp: isp.id, digest, partners, allPartnersSigned: partners.every((p) => p.valid) };
}

function checkSignature(
  signature: IspSignature,
  key: KeyObject | 'missing' | 'unusable',
  ispId: string,
  digest: string,
): PartnerSignatureStatus {
  const { agency, when } = signature;
  const fail = (reason: SignatureProblem, detail: string): PartnerSignatureStatus => ({ agency, signed: true, valid: false, when, reason, detail });

  if (signature.sigFormat !== undefined && signature.sigFormat !== ISP_SIGNATURE_FORMAT) {
    return fail('malformed', `Signature format must be ${ISP_SIGNATURE_FORMAT}`);
  }
  if (signature.who !== undefined && signature.who !== `Organization/${agency}`) {
    return fail('wrong-signer', `Signature of ${agency} names ${signature.who} as the signer`);
  }
  if (key === 'missing') return fail('no-registered-key', `No public key is registered for ${agency}`);
  if (key === 'unusable') return fail('no-registered-key', `The key registered for ${agency} is not a usable public key`);

  let payload: unknown;
  try {
    payload = jwt.verify(signature.jws, key, { algorithms: ISP_SIGNATURE_ALGORITHMS });
  } catch {
    return fail('bad-signature', `Signature of ${agency} does not verify with its registered key`);
  }
  if (typeof payload !== 'object' || payload === null) return fail('malformed', 'Signature payload is not a JSON object');
  const claims = payload as Partial<Record<keyof IspSignaturePayload, unknown>>;
  if (claims.isp !== ispId) return fail('other-isp', `Signature of ${agency} is for ISP ${String(claims.isp)}, not ${ispId}`);
  if (typeof claims.digest !== 'string') return fail('malformed', 'Signature payload has no digest');
  if (claims.digest !== digest) {
    return fail('stale-content', `ISP ${ispId} has changed since ${agency} signed it; ${agency} must sign the current version`);
  }
  return { agency, signed: true, valid: true, when };
}

function publicKeyOf(keys: PublicKeysByAgency, agency: string): KeyObject | 'missing' | 'unusable' {
  // `instanceof Map` narrows to Map<any, any>: say what the map holds again.
  const key = keys instanceof Map ? (keys as ReadonlyMap<string, IspPublicKey>).get(agency) : (keys as Readonly<Record<string, IspPublicKey | undefined>>)[agency];
  if (key === undefined) return 'missing';
  try {
    return toPublicKey(key);
  } catch {
    return 'unusable';
  }
}

/** A verifying KeyObject from what the directory stores; never a private or secret key. */
function toPublicKey(key: IspPublicKey): KeyObject {
  if (typeof key === 'string') {
    const text = key.trim();
    return text.startsWith('{') ? toPublicKey(JSON.parse(text) as JsonWebKey) : createPublicKey(text);
  }
  if (isKeyObject(key)) {
    if (key.type === 'secret') throw new Error('A secret key cannot verify an ISP signature');
    return key.type === 'private' ? createPublicKey(key) : key;
  }
  if (key.kty !== 'EC') throw new Error('ISP signatures use EC keys');
  // Only the public members, so a JWK that carries `d` still yields a public key.
  return createPublicKey({ key: { kty: 'EC', crv: key.crv, x: key.x, y: key.y }, format: 'jwk' });
}

function isKeyObject(key: KeyObject | JsonWebKey): key is KeyObject {
  return typeof (key as KeyObject).export === 'function' && typeof (key as KeyObject).type === 'string';
}
