/**
 * Checkpoints: what the log signs, and what an auditor keeps.
 *
 * The body is a C2SP `tlog-checkpoint` (c2sp.org/tlog-checkpoint): three lines —
 * the log's origin, the tree size in decimal, the root hash in standard base64
 * — each ending in a newline. It is wrapped in a C2SP signed note
 * (c2sp.org/signed-note): the body, a blank line, then one signature line per
 * signer, `— <key name> base64(key ID || signature)`.
 *
 * The partnership's key is ECDSA P-256 (the key that signs its access tokens,
 * published in the directory's JWKS), so the signature type is the one the
 * spec assigns to ECDSA: `0x02` ("ECDSA signatures as implemented by
 * github.com/transparency-dev/witness"): an ASN.1 DER ECDSA signature over
 * SHA-256 of the note text, key ID = the first four bytes of SHA-256 over the
 * DER SubjectPublicKeyInfo. The key name is the origin, as tlog-checkpoint
 * recommends. A verifier key is shared as `<name>+<hex key ID>+<base64(0x02 ||
 * SPKI)>`, the signed-note "vkey" text form.
 *
 * Pure apart from the signature arithmetic (node:crypto, no I/O).
 */
import { createHash, createPublicKey, sign, verify, type KeyObject } from 'node:crypto';
import { HASH_BYTES } from './merkle.js';

/** The signed-note signature type byte for ECDSA (c2sp.org/signed-note). */
export const ECDSA_SIGNATURE_TYPE = 0x02;

const EM_DASH = '\u2014';
const MAX_NOTE_BYTES = 64 * 1024;
const MAX_SIGNATURES = 16;
/** Origins and key names: non-empty, no spaces or plus signs (signed-note), no control characters. */
function isKeyName(name: string): boolean {
  return name.length > 0 && !/[\s+]/u.test(name) && !hasControlCharacter(name, false);
}

/** Whether text holds an ASCII control character (below U+0020), newlines allowed or not. */
function hasControlCharacter(text: string, newlineAllowed: boolean): boolean {
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 0x20 && !(newlineAllowed && code === 0x0a)) return true;
  }
  return false;
}

/** A checkpoint's content (the note body). */
export interface Checkpoint {
  readonly origin: string;
  readonly size: number;
  readonly rootHash: Buffer;
}

/** A public key that can check the log's signatures, with the name and ID its signature lines carry. */
export interface NoteVerifier {
  readonly name: string;
  readonly keyId: number;
  readonly publicKey: KeyObject;
}

/** Why a checkpoint was not accepted; the first problem found. */
export type CheckpointProblem =
  | { readonly kind: 'malformed'; readonly detail: string }
  | { readonly kind: 'unsigned'; readonly detail: string }
  | { readonly kind: 'bad-signature'; readonly detail: string }
  | { readonly kind: 'other-log'; readonly detail: string };

export type CheckpointReading = { readonly ok: true; readonly checkpoint: Checkpoint } | { readonly ok: false; readonly problem: CheckpointProblem };

/** The checkpoint body: origin, size, base64 root, each on its own line. */
export function checkpointBody(c: Checkpoint): string {
  if (!isKeyName(c.origin)) throw new Error(`"${c.origin}" cannot be a log origin (no spaces, plus signs or control characters)`);
  if (!Number.isSafeInteger(c.size) || c.size < 0) throw new Error(`${c.size} is not a tree size`);
  if (c.rootHash.length !== HASH_BYTES) throw new Error('a root hash is 32 bytes');
  return `${c.origin}\n${c.size}\n${c.rootHash.toString('base64')}\n`;
}

/** The verifier of a P-256 public key under a key name. */
export function noteVerifier(name: string, publicKey: KeyObject): NoteVerifier {
  if (!isKeyName(name)) throw new Error(`"${name}" cannot be a signed-note key name`);
  assertEcdsa(publicKey);
  return { name, keyId: ecdsaKeyId(publicKey), publicKey };
}

/** Key ID of an ECDSA key (signed-note type 0x02): SHA-256 of the DER SPKI, first four bytes, big-endian. */
export function ecdsaKeyId(publicKey: KeyObject): number {
  return createHash('sha256').update(spkiOf(publicKey)).digest().readUInt32BE(0);
}

/** The signed-note verifier key text: `<name>+<hex key ID>+<base64(0x02 || SPKI)>`. */
export function verifierKeyText(v: NoteVerifier): string {
  const key = Buffer.concat([Buffer.from([ECDSA_SIGNATURE_TYPE]), spkiOf(v.publicKey)]);
  return `${v.name}+${v.keyId.toString(16).padStart(8, '0')}+${key.toString('base64')}`;
}

/** Reads a verifier key text; throws with the reason when it is not one this log can use. */
export function parseVerifierKey(text: string): NoteVerifier {
  // The name holds no '+', the key id is 8 hex digits; the base64 key may hold '+' itself.
  const m = /^([^+\s]+)\+([0-9a-f]{8})\+([A-Za-z0-9+/]+={0,2})$/.exec(text.trim());
  if (!m) throw new Error('a verifier key is <name>+<8 hex digit key id>+<base64 key>');
  const [, name, hexId, b64] = m as unknown as [string, string, string, string];
  const key = Buffer.from(b64, 'base64');
  if (key[0] !== ECDSA_SIGNATURE_TYPE) throw new Error(`signature type 0x${(key[0] ?? 0).toString(16)} is not ECDSA (0x02)`);
  let publicKey: KeyObject;
  try {
    publicKey = createPublicKey({ key: key.subarray(1), format: 'der', type: 'spki' });
  } catch {
    throw new Error('the verifier key does not hold a readable public key');
  }
  const verifier = noteVerifier(name, publicKey);
  if (verifier.keyId !== Number.parseInt(hexId, 16)) throw new Error('the verifier key id does not match its key');
  return verifier;
}

/** Signs a checkpoint: the signed note text an auditor keeps. */
export function signCheckpoint(c: Checkpoint, keyName: string, privateKey: KeyObject): string {
  const body = checkpointBody(c);
  const verifier = noteVerifier(keyName, createPublicKey(privateKey));
  const signature = sign('sha256', Buffer.from(body, 'utf8'), { key: privateKey, dsaEncoding: 'der' });
  const id = Buffer.alloc(4);
  id.writeUInt32BE(verifier.keyId);
  return `${body}\n${EM_DASH} ${keyName} ${Buffer.concat([id, signature]).toString('base64')}\n`;
}

/**
 * Reads a signed checkpoint and checks it: a well-formed note, a signature by
 * the verifier's key (name and key ID match, signature verifies; any known-key
 * signature that fails rejects the note), and this log's origin.
 */
export function openCheckpoint(note: string, verifier: NoteVerifier, expectedOrigin: string): CheckpointReading {
  if (Buffer.byteLength(note, 'utf8') > MAX_NOTE_BYTES) return malformed('the note is larger than 64 KiB');
  if (hasControlCharacter(note, true)) return malformed('a signed note holds no control characters other than newline');
  const split = note.lastIndexOf('\n\n');
  if (split < 0 || !note.endsWith('\n')) return malformed('a signed note is its text, a blank line and signature lines, each ending in a newline');
  const body = note.slice(0, split + 1);
  const lines = note.slice(split + 2, -1).split('\n');
  if (lines.length > MAX_SIGNATURES) return malformed(`more than ${MAX_SIGNATURES} signatures`);
  let verified = false;
  for (const line of lines) {
    const m = /^\u2014 (\S+) ([A-Za-z0-9+/]+={0,2})$/u.exec(line);
    if (!m) return malformed(`"${line.slice(0, 80)}" is not a signature line (— <key name> <base64>)`);
    const raw = Buffer.from(m[2]!, 'base64');
    if (raw.length < 5) return malformed('a signature is a 4-byte key id and the signature bytes');
    // Signatures of other keys (a witness's cosignature, say) are ignored, as the spec requires.
    if (m[1] !== verifier.name || raw.readUInt32BE(0) !== verifier.keyId) continue;
    const ok = verify('sha256', Buffer.from(body, 'utf8'), { key: verifier.publicKey, dsaEncoding: 'der' }, raw.subarray(4));
    if (!ok) return { ok: false, problem: { kind: 'bad-signature', detail: `the signature of ${verifier.name} does not verify: the checkpoint was altered or not signed by this log's key` } };
    verified = true;
  }
  if (!verified) return { ok: false, problem: { kind: 'unsigned', detail: `the checkpoint carries no signature of ${verifier.name} (key id ${verifier.keyId.toString(16).padStart(8, '0')})` } };
  const parsed = parseCheckpointBody(body);
  if (!parsed.ok) return parsed;
  if (parsed.checkpoint.origin !== expectedOrigin) {
    return { ok: false, problem: { kind: 'other-log', detail: `the checkpoint is of the log "${parsed.checkpoint.origin}", not "${expectedOrigin}"` } };
  }
  return parsed;
}

/**
 * The tree size a note's body names, its signatures not checked (undefined: no checkpoint body). The body is
 * split off as `openCheckpoint` splits it, so a note that opens names this size.
 */
export function claimedCheckpointSize(note: string): number | undefined {
  const split = note.lastIndexOf('\n\n');
  if (split < 0) return undefined;
  const parsed = parseCheckpointBody(note.slice(0, split + 1));
  return parsed.ok ? parsed.checkpoint.size : undefined;
}

/** Reads a checkpoint body (no signature check): origin, size, root; extension lines are allowed and ignored. */
export function parseCheckpointBody(body: string): CheckpointReading {
  const lines = body.split('\n');
  if (lines.length < 4 || lines[lines.length - 1] !== '') return malformed('a checkpoint body is origin, size and root hash, one per line');
  const [origin, sizeText, rootText] = lines as [string, string, string];
  if (!isKeyName(origin)) return malformed('the origin line is empty or holds spaces');
  if (!/^(0|[1-9][0-9]{0,15})$/.test(sizeText) || !Number.isSafeInteger(Number(sizeText))) return malformed(`"${sizeText}" is not a tree size`);
  const rootHash = Buffer.from(rootText, 'base64');
  if (rootHash.length !== HASH_BYTES || rootHash.toString('base64') !== rootText) return malformed('the root hash line is not 32 bytes of standard base64');
  return { ok: true, checkpoint: { origin, size: Number(sizeText), rootHash } };
}

function malformed(detail: string): CheckpointReading {
  return { ok: false, problem: { kind: 'malformed', detail } };
}

function spkiOf(publicKey: KeyObject): Buffer {
  const key = publicKey.type === 'private' ? createPublicKey(publicKey) : publicKey;
  return key.export({ format: 'der', type: 'spki' });
}

function assertEcdsa(key: KeyObject): void {
  const curve = key.asymmetricKeyDetails?.namedCurve;
  if (key.asymmetricKeyType !== 'ec' || !curve || !['prime256v1', 'secp384r1', 'secp521r1'].includes(curve)) {
    throw new Error('checkpoints are signed with ECDSA (signed-note type 0x02): the partnership key must be an EC P-256 (or P-384/P-521) key');
  }
}

/** The key IDs of a note's signature lines by `keyName` (to find which published key signed it). */
export function signatureKeyIds(note: string, keyName: string): number[] {
  const split = note.lastIndexOf('\n\n');
  if (split < 0) return [];
  return note
    .slice(split + 2)
    .split('\n')
    .flatMap((line) => {
      const m = /^\u2014 (\S+) ([A-Za-z0-9+/]+={0,2})$/u.exec(line);
      if (!m || m[1] !== keyName) return [];
      const raw = Buffer.from(m[2]!, 'base64');
      return raw.length >= 4 ? [raw.readUInt32BE(0)] : [];
    });
}
