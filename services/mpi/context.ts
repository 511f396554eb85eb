/** Everything the MPI's HTTP operations share, built once in `module.ts`. */
import type { RequestHandler } from 'express';
import type { OutboxRelay } from '../../shared/audit/outbox-relay.js';
import type { ValidationPool } from '../../shared/fhir/validation-pool.js';
import type { ResourceStore } from '../../shared/store/resource-store.js';
import type { MpiConfig } from './config.js';
import type { EstimationRequests } from './workers/model-estimation.js';
import type { ReclusterRequests } from './workers/recluster.js';
import type { BackgroundLoads } from './workers/registrations.js';
import type { ModelEstimation } from './model-estimation.js';
import type { ModelVersions } from './model-versions.js';
import type { PartnershipView } from './partnership.js';
import type { Registrar } from './registration.js';
import type { MpiStore } from './store.js';

export interface MpiContext {
  /** The MPI's own settings (config.ts). */
  readonly config: MpiConfig;
  readonly store: MpiStore;
  /** Relays the MPI's change records (index and Task outboxes) to the audit stream; started by the service. */
  readonly relay: OutboxRelay;
  /** Review Tasks (shared resource store). */
  readonly tasks: ResourceStore;
  readonly registrar: Registrar;
  /** Loads registered in the background (`Prefer: respond-async`). */
  readonly registrations: BackgroundLoads;
  /** Asks for the re-clustering pass after the index changed (workers/recluster.ts). */
  readonly reclusterRequests: ReclusterRequests;
  readonly partnership: PartnershipView;
  /** The matching model in use and its versions (the configured one is version 0). */
  readonly models: ModelVersions;
  /** Estimates the partnership's own model over the index. */
  readonly estimation: ModelEstimation;
  /** Asks for the automatic estimation once a load has ended, when one is due (workers/model-estimation.ts). */
  readonly estimationRequests: EstimationRequests;
  /** Absolute FHIR base (`http://localhost:4001/fhir`). */
  readonly baseUrl: string;
  /** Verifies the access token (shared/auth/middleware.ts). */
  readonly authenticate: RequestHandler;
  readonly maxBlockSize: number;
  /** R4 validation of a transaction's entries off the event loop (threads start on first use). */
  readonly validation: ValidationPool;
}

/** The actor a decision is attributed to: the acting PractitionerRole, else the client (agency system). */
export function actorOf(auth: { practitionerRole?: string; sub: string }): string {
  return auth.practitionerRole ?? `Organization/${auth.sub}`;
}
