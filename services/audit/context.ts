/** Everything the audit service's HTTP operations share, built once in `module.ts`. */
import type { RequestHandler } from 'express';
import type { LogSigner } from './checkpointer.js';
import type { AuditConfig } from './config.js';
import type { AuditKeys } from './keys.js';
import type { LogProofs } from './proofs.js';
import type { LogStore } from './store.js';

export interface AuditContext {
  /** The service's own settings (config.ts). */
  readonly config: AuditConfig;
  readonly keys: AuditKeys;
  /** The Merkle log: tiles, entries, checkpoints. */
  readonly store: LogStore;
  /** The log's signing identity (origin, verifier key). */
  readonly signer: LogSigner;
  /** Inclusion / consistency proofs and proof bundles. */
  readonly proofs: LogProofs;
  /** Absolute FHIR base (`http://localhost:4004/fhir`). */
  readonly baseUrl: string;
  /** Verifies the access token (shared/auth/middleware.ts). */
  readonly authenticate: RequestHandler;
}
