/**
 * The proof bundle: one AuditEvent with everything needed to check, offline
 * and without trusting the hub, that it is in the partnership's log — the
 * entry's canonical bytes, its RFC 9162 inclusion proof, and the signed
 * checkpoint the proof leads to. Only the log's public key must come from
 * elsewhere (the directory's JWKS, or the verifier key an auditor configured);
 * the bundle names the key it was signed with for convenience.
 *
 * JSON, version 1:
 *
 *   { "format": "infoshare-audit-proof-bundle/1",
 *     "entry": { "id": <AuditEvent id = audit stream id>, "leafIndex": n, "canonical": <canonical entry JSON text> },
 *               (layout 2 and 3 canonical bytes name the id themselves: checked to be the same)
 *     "inclusionProof": { "leafIndex": n, "treeSize": N, "hashes": [<base64>, …] },   // RFC 9162 §2.1.3
 *     "checkpoint": <signed note text: C2SP tlog-checkpoint body + signature>,
 *     "verifierKey": <signed-note verifier key text> }
 *
 * Pure (hashing and signature checks only).
 */
import { parseCanonicalEntry } from '../../../shared/audit/audit-entry.js';
import { openCheckpoint, type Checkpoint, type NoteVerifier } from './checkpoint.js';
import { leafHash, verifyInclusion } from './merkle.js';

export const PROOF_BUNDLE_FORMAT = 'infoshare-audit-proof-bundle/1';

export interface InclusionProof {
  readonly leafIndex: number;
  readonly treeSize: number;
  /** Base64 (standard) 32-byte hashes, leaf's sibling first. */
  readonly hashes: readonly string[];
}

export interface ProofBundle {
  readonly format: typeof PROOF_BUNDLE_FORMAT;
  readonly entry: { readonly id: string; readonly leafIndex: number; readonly canonical: string };
  readonly inclusionProof: InclusionProof;
  readonly checkpoint: string;
  readonly verifierKey: string;
}

export type BundleVerdict =
  | { readonly ok: true; readonly checkpoint: Checkpoint; readonly leafIndex: number; readonly id: string }
  | { readonly ok: false; readonly problem: string };

/** Reads a bundle from untrusted JSON; throws with what is wrong. */
export function parseProofBundle(value: unknown): ProofBundle {
  const b = value as Partial<ProofBundle> | null;
  if (typeof b !== 'object' || b === null || b.format !== PROOF_BUNDLE_FORMAT) throw new Error(`not a proof bundle (format "${PROOF_BUNDLE_FORMAT}")`);
  const e = b.entry;
  const p = b.inclusionProof;
  if (typeof e !== 'object' || e === null || typeof e.id !== 'string' || typeof e.canonical !== 'string' || !Number.isSafeInteger(e.leafIndex)) {
    throw new Error('the bundle entry needs id, leafIndex and canonical');
  }
  if (typeof p !== 'object' || p === null || !Number.isSafeInteger(p.leafIndex) || !Number.isSafeInteger(p.treeSize) || !Array.isArray(p.hashes) || !p.hashes.every((h) => typeof h === 'string')) {
    throw new Error('the bundle inclusionProof needs leafIndex, treeSize and hashes');
  }
  if (typeof b.checkpoint !== 'string' || typeof b.verifierKey !== 'string') throw new Error('the bundle needs checkpoint and verifierKey text');
  return b as ProofBundle;
}

/**
 * Checks a bundle against the log's verifier key and origin: the checkpoint is
 * signed by that key for that log, the proof is for the entry's position in a
 * tree of the checkpoint's size, and it leads from the entry's leaf hash to the
 * checkpoint's root.
 */
export function verifyProofBundle(bundle: ProofBundle, verifier: NoteVerifier, origin: string): BundleVerdict {
  const opened = openCheckpoint(bundle.checkpoint, verifier, origin);
  if (!opened.ok) return { ok: false, problem: `checkpoint: ${opened.problem.detail}` };
  const { checkpoint } = opened;
  const proof = bundle.inclusionProof;
  if (proof.treeSize !== checkpoint.size) return { ok: false, problem: `the proof is for a tree of ${proof.treeSize} entries, the checkpoint for ${checkpoint.size}` };
  if (proof.leafIndex !== bundle.entry.leafIndex) return { ok: false, problem: 'the proof is for another position than the entry' };
  let named: string | undefined;
  try {
    named = parseCanonicalEntry(bundle.entry.canonical).id;
  } catch (err) {
    return { ok: false, problem: `the entry is not an audit entry in canonical form: ${(err as Error).message}` };
  }
  // A layout 2 or 3 leaf names its AuditEvent: the proof is then of that id, not only of the entry's content.
  if (named !== undefined && named !== bundle.entry.id) return { ok: false, problem: `the entry's canonical bytes are of AuditEvent ${named}, not ${bundle.entry.id}` };
  const hashes = proof.hashes.map((h) => Buffer.from(h, 'base64'));
  const leaf = leafHash(Buffer.from(bundle.entry.canonical, 'utf8'));
  if (!verifyInclusion(proof.leafIndex, proof.treeSize, leaf, hashes, checkpoint.rootHash)) {
    return { ok: false, problem: `the inclusion proof does not lead from entry ${bundle.entry.id} (position ${proof.leafIndex}) to the checkpoint's root: the entry or the proof was altered` };
  }
  return { ok: true, checkpoint, leafIndex: proof.leafIndex, id: bundle.entry.id };
}
