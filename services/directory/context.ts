/** What the directory's operations share: built once in `module.ts`, passed to each operation. */
import type { RequestHandler } from 'express';
import type { SigningKey } from '../../shared/auth/keys.js';
import type { ValidationPool } from '../../shared/fhir/validation-pool.js';
import type { IspRegistry } from '../../shared/isp/registry.js';
import type { ServiceDeps } from '../../shared/runtime/deps.js';
import type { ResourceStore } from '../../shared/store/resource-store.js';

export interface DirectoryContext {
  readonly deps: ServiceDeps;
  /** Serves every type in `resource-types.ts`. */
  readonly store: ResourceStore;
  readonly registry: IspRegistry;
  /** The partnership key access tokens are signed with. */
  readonly signingKey: SigningKey;
  /** `authenticate` from shared/auth/middleware.ts, built once. */
  readonly authenticate: RequestHandler;
  /** Absolute FHIR base, e.g. `http://localhost:4000/fhir`. */
  readonly fhirBase: string;
  /** R4 validation of request bodies; large ones on a worker thread (started on first need). */
  readonly validation: ValidationPool;
  readonly now: () => Date;
}
