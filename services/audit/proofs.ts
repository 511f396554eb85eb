/**
 * The log's proofs as the HTTP operations (and the evidence report) hand them
 * out: an entry's inclusion proof at a signed checkpoint, the proof bundle, the
 * consistency proof between two sizes. Refusals are OperationOutcomeErrors
 * with the reason an auditor needs (bad signature, another log, a size the
 * log does not have).
 */
import { canonicalEntry } from '../../shared/audit/audit-entry.js';
import { badRequest, conflict, notFound, unprocessable } from '../../shared/fhir/outcome.js';
import type { LogSigner } from './checkpointer.js';
import { openCheckpoint } from './domain/checkpoint.js';
import { leafHash } from './domain/merkle.js';
import { PROOF_BUNDLE_FORMAT, type ProofBundle } from './domain/proof-bundle.js';
import type { LogEntry, LogStore, StoredCheckpoint } from './store.js';

export interface EntryInclusion {
  readonly entry: LogEntry;
  /** The entry's canonical bytes as text (what the leaf hash covers). */
  readonly canonical: string;
  readonly leafHash: string;
  readonly leafIndex: number;
  readonly treeSize: number;
  /** Base64 hashes of the RFC 9162 audit path. */
  readonly hashes: string[];
  readonly checkpoint: StoredCheckpoint;
}

export interface ConsistencyAnswer {
  readonly origin: string;
  readonly from: number;
  readonly to: number;
  readonly fromRoot: string;
  readonly toRoot: string;
  readonly hashes: string[];
  /** The signed checkpoint of size `to`, when the log signed one. */
  readonly toCheckpoint?: string;
}

export class LogProofs {
  constructor(
    private readonly store: LogStore,
    private readonly signer: LogSigner,
  ) {}

  get origin(): string {
    return this.signer.origin;
  }

  /**
   * The checkpoint a proof is asked against: the latest (none given), the one
   * of a tree size (`123`), or a signed checkpoint the caller kept (its text):
   * checked for this log's signature and origin, and against the log's own
   * root at its size.
   */
  async checkpoint(param: string | undefined, name = 'checkpoint'): Promise<StoredCheckpoint> {
    if (param === undefined || param === '') {
      const latest = await this.store.latestCheckpoint();
      if (!latest) throw notFound('The log has signed no checkpoint yet; one is signed as soon as it holds entries');
      return latest;
    }
    if (/^\d{1,16}$/.test(param)) {
      const size = Number(param);
      const [signed] = await this.store.checkpointsAt(size);
      if (!signed) throw notFound(`The log signed no checkpoint of size ${size}; ask for the latest (no ${name}) or a size it signed`);
      return signed;
    }
    if (!param.includes('\n')) throw badRequest(`${name} must be a tree size (a whole number) or a signed checkpoint's text`, name);
    const opened = openCheckpoint(param.endsWith('\n') ? param : `${param}\n`, this.signer.verifier, this.signer.origin);
    if (!opened.ok) {
      const { kind, detail } = opened.problem;
      throw kind === 'malformed' ? badRequest(`The checkpoint is not a signed checkpoint: ${detail}`, name) : unprocessable(`The checkpoint is refused: ${detail}`, name);
    }
    const { size, rootHash } = opened.checkpoint;
    const current = await this.store.size();
    if (size > current) throw unprocessable(`The checkpoint is of ${size} entries but the log holds ${current}: it is not of this log's history`, name);
    const root = await this.store.rootAt(size);
    if (!root.equals(rootHash)) {
      throw conflict(`The log's root at size ${size} is not the one this signed checkpoint names: two signed versions of the log exist (a fork)`, name);
    }
    const [kept] = await this.store.checkpointsAt(size);
    return kept ?? { origin: this.signer.origin, size, rootHash: rootHash.toString('base64'), note: param, issued: '' };
  }

  /** Inclusion proof of AuditEvent `id` at a checkpoint (see `checkpoint`). */
  async inclusion(id: string, checkpointParam: string | undefined): Promise<EntryInclusion> {
    const leaf = await this.store.leafById(id);
    if (!leaf) throw notFound(`AuditEvent ${id} is not in the log (yet: entries are appended within a second of their exchange)`);
    if (!leaf.entry || !leaf.layout) {
      throw conflict(`AuditEvent ${id} is entry ${leaf.index} of the log, but the audit stream no longer holds it (deleted): \`infoshare audit verify\` reports the damage`);
    }
    const entry: LogEntry = { index: leaf.index, id, entry: leaf.entry, layout: leaf.layout };
    const checkpoint = await this.checkpoint(checkpointParam);
    if (entry.index >= checkpoint.size) {
      throw conflict(`AuditEvent ${id} is entry ${entry.index} of the log, after the checkpoint of size ${checkpoint.size}: ask again once a later checkpoint is signed`, 'checkpoint');
    }
    const canonical = canonicalEntry(entry.entry, id, entry.layout);
    const hashes = await this.store.inclusionProof(entry.index, checkpoint.size);
    return {
      entry,
      canonical,
      leafHash: leafHash(Buffer.from(canonical, 'utf8')).toString('base64'),
      leafIndex: entry.index,
      treeSize: checkpoint.size,
      hashes: hashes.map((h) => h.toString('base64')),
      checkpoint,
    };
  }

  /** The offline proof bundle of AuditEvent `id` (domain/proof-bundle.ts). */
  async bundle(id: string, checkpointParam: string | undefined): Promise<ProofBundle> {
    const inc = await this.inclusion(id, checkpointParam);
    return {
      format: PROOF_BUNDLE_FORMAT,
      entry: { id: inc.entry.id, leafIndex: inc.leafIndex, canonical: inc.canonical },
      inclusionProof: { leafIndex: inc.leafIndex, treeSize: inc.treeSize, hashes: inc.hashes },
      checkpoint: inc.checkpoint.note,
      verifierKey: this.signer.verifierKey,
    };
  }

  /** RFC 9162 consistency proof between tree sizes (`to` defaults to the latest checkpoint). */
  async consistency(from: number, to: number | undefined): Promise<ConsistencyAnswer> {
    const size = await this.store.size();
    const target = to ?? (await this.store.latestCheckpoint())?.size ?? size;
    if (from > target) throw unprocessable(`from (${from}) is after to (${target}): a log only grows, ask from the older size to the newer`, 'from');
    if (target > size) throw unprocessable(`The log holds ${size} entries; there is no tree of ${target}`, 'to');
    const [hashes, fromRoot, toRoot, signed] = await Promise.all([
      this.store.consistencyProof(from, target),
      this.store.rootAt(from),
      this.store.rootAt(target),
      this.store.checkpointsAt(target),
    ]);
    return {
      origin: this.signer.origin,
      from,
      to: target,
      fromRoot: fromRoot.toString('base64'),
      toRoot: toRoot.toString('base64'),
      hashes: hashes.map((h) => h.toString('base64')),
      ...(signed[0] ? { toCheckpoint: signed[0].note } : {}),
    };
  }
}
