/**
 * Signs checkpoints of the log with the partnership's key: every
 * `checkpointEvery` new entries, and at least every `checkpointIntervalMs`
 * while the log grows (config.ts). Every checkpoint is kept (store.ts), so an
 * auditor can ask for a proof against any one they hold.
 */
import type { KeyObject } from 'node:crypto';
import type { Logger } from '../../shared/log.js';
import { noteVerifier, signCheckpoint, verifierKeyText, type NoteVerifier } from './domain/checkpoint.js';
import type { Frontier } from './domain/tiles.js';
import type { LogStore, StoredCheckpoint } from './store.js';

export interface CheckpointPolicy {
  readonly checkpointEvery: number;
  readonly checkpointIntervalMs: number;
}

/** The log's signing identity: its origin (also the key name) and the partnership's private key. */
export class LogSigner {
  readonly verifier: NoteVerifier;

  constructor(
    readonly origin: string,
    private readonly privateKey: KeyObject,
    publicKey: KeyObject,
  ) {
    this.verifier = noteVerifier(origin, publicKey);
  }

  /** The verifier key an auditor configures (`<origin>+<key id>+<key>`). */
  get verifierKey(): string {
    return verifierKeyText(this.verifier);
  }

  sign(size: number, rootHash: Buffer): string {
    return signCheckpoint({ origin: this.origin, size, rootHash }, this.origin, this.privateKey);
  }
}

export class Checkpointer {
  private lastSize = -1;
  private lastAt = 0;

  constructor(
    private readonly store: LogStore,
    private readonly signer: LogSigner,
    private readonly policy: CheckpointPolicy,
    private readonly log: Logger,
    private readonly now: () => Date = () => new Date(),
  ) {}

  /** Signs a checkpoint of the tree `frontier` describes when one is due; returns it if signed. */
  async maybeSign(frontier: Frontier): Promise<StoredCheckpoint | undefined> {
    if (this.lastSize < 0) {
      const latest = await this.store.latestCheckpoint();
      this.lastSize = latest?.size ?? 0;
      this.lastAt = latest ? Date.parse(latest.issued) : 0;
    }
    const grown = frontier.size - this.lastSize;
    if (grown <= 0) return undefined;
    const now = this.now();
    if (grown < this.policy.checkpointEvery && now.getTime() - this.lastAt < this.policy.checkpointIntervalMs) return undefined;
    return this.signNow(frontier, now);
  }

  /** Signs a checkpoint of the tree as it is now (tests, the bench, shutdown). */
  async signNow(frontier: Frontier, now = this.now()): Promise<StoredCheckpoint> {
    const note = this.signer.sign(frontier.size, frontier.root());
    const stored = await this.store.addCheckpoint(note, now);
    this.lastSize = frontier.size;
    this.lastAt = now.getTime();
    this.log.debug({ size: stored.size, root: stored.rootHash }, 'signed an audit log checkpoint');
    return stored;
  }
}
