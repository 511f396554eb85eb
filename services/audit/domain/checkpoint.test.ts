/**
 * Checkpoints in the C2SP formats: a tlog-checkpoint body in a signed note,
 * ECDSA signature type 0x02 with the spec's key ID (SHA-256 of the SPKI), and
 * every way a checkpoint can be wrong reported as such.
 */
import { createHash, generateKeyPairSync } from 'node:crypto';
import { checkpointBody, ecdsaKeyId, noteVerifier, openCheckpoint, parseVerifierKey, signCheckpoint, verifierKeyText } from './checkpoint.js';

const ORIGIN = 'fhir.infoshare.scot/lothian-hscp/audit-log';
const keys = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const verifier = noteVerifier(ORIGIN, keys.publicKey);
const root = createHash('sha256').update('a root').digest();

describe('checkpoints', () => {
  it('have the tlog-checkpoint body: origin, decimal size, base64 root, one per line', () => {
    expect(checkpointBody({ origin: ORIGIN, size: 12, rootHash: root })).toBe(`${ORIGIN}\n12\n${root.toString('base64')}\n`);
  });

  it('are signed notes: body, blank line, one em-dash signature line with the 4-byte key id', () => {
    const note = signCheckpoint({ origin: ORIGIN, size: 12, rootHash: root }, ORIGIN, keys.privateKey);
    const [body, signatures] = note.split('\n\n');
    expect(`${body}\n`).toBe(checkpointBody({ origin: ORIGIN, size: 12, rootHash: root }));
    expect(signatures).toMatch(new RegExp(`^\u2014 ${ORIGIN} [A-Za-z0-9+/]+=*\\n$`));
    const raw = Buffer.from(signatures!.split(' ')[2]!.trim(), 'base64');
    expect(raw.readUInt32BE(0)).toBe(verifier.keyId);
  });

  it('use the signed-note ECDSA key id: the first four bytes of SHA-256 over the DER SPKI', () => {
    const spki = keys.publicKey.export({ format: 'der', type: 'spki' });
    expect(ecdsaKeyId(keys.publicKey)).toBe(createHash('sha256').update(spki).digest().readUInt32BE(0));
  });

  it('open with the verifier key, whose text form reads back to the same key', () => {
    const note = signCheckpoint({ origin: ORIGIN, size: 7, rootHash: root }, ORIGIN, keys.privateKey);
    const text = verifierKeyText(verifier);
    expect(text).toMatch(new RegExp(`^${ORIGIN}\\+[0-9a-f]{8}\\+`));
    const read = parseVerifierKey(text);
    const opened = openCheckpoint(note, read, ORIGIN);
    expect(opened.ok && opened.checkpoint.size === 7 && opened.checkpoint.rootHash.equals(root)).toBe(true);
  });

  it('are refused when altered after signing (bad signature)', () => {
    const note = signCheckpoint({ origin: ORIGIN, size: 7, rootHash: root }, ORIGIN, keys.privateKey);
    const opened = openCheckpoint(note.replace('\n7\n', '\n8\n'), verifier, ORIGIN);
    expect(!opened.ok && opened.problem.kind).toBe('bad-signature');
  });

  it('are refused when signed by another key under the same name (no known signature)', () => {
    const other = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const note = signCheckpoint({ origin: ORIGIN, size: 7, rootHash: root }, ORIGIN, other.privateKey);
    const opened = openCheckpoint(note, verifier, ORIGIN);
    expect(!opened.ok && opened.problem.kind).toBe('unsigned');
  });

  it('are refused when of another log, even signed by the right key', () => {
    const note = signCheckpoint({ origin: 'elsewhere.example/log', size: 7, rootHash: root }, ORIGIN, keys.privateKey);
    const opened = openCheckpoint(note, verifier, ORIGIN);
    expect(!opened.ok && opened.problem.kind).toBe('other-log');
  });

  it('are refused when malformed: no signature block, a bad size, a short root, control characters', () => {
    const good = signCheckpoint({ origin: ORIGIN, size: 7, rootHash: root }, ORIGIN, keys.privateKey);
    for (const bad of [
      `${ORIGIN}\n7\n${root.toString('base64')}\n`,
      good.replace('\n7\n', '\n07\n'),
      good.replace(root.toString('base64'), root.subarray(0, 16).toString('base64')),
      good.replace('\n7\n', '\n7\u0007\n'),
      good.replace('\u2014', '--'),
    ]) {
      const opened = openCheckpoint(bad, verifier, ORIGIN);
      expect(opened.ok).toBe(false);
    }
  });

  it('ignore signatures of other keys beside the log own', () => {
    const note = signCheckpoint({ origin: ORIGIN, size: 7, rootHash: root }, ORIGIN, keys.privateKey);
    const witness = `\u2014 witness.example/w1 ${Buffer.alloc(68, 1).toString('base64')}\n`;
    expect(openCheckpoint(note + witness, verifier, ORIGIN).ok).toBe(true);
  });

  it('refuse a key that is not ECDSA', () => {
    const ed = generateKeyPairSync('ed25519');
    expect(() => noteVerifier(ORIGIN, ed.publicKey)).toThrow(/ECDSA/);
  });
});
