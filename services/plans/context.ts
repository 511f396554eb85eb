/** Everything the plans service's HTTP operations share, built once in `module.ts`. */
import type { RequestHandler } from 'express';
import type { AuditSink } from '../../shared/audit/exchange.js';
import type { OutboxRelay } from '../../shared/audit/outbox-relay.js';
import type { ValidationPool } from '../../shared/fhir/validation-pool.js';
import type { IspRegistry } from '../../shared/isp/registry.js';
import type { AlertsView } from '../alerts/view.js';
import type { AuditView } from '../audit/view.js';
import type { DirectoryView } from '../directory/view.js';
import type { MpiView } from '../mpi/view.js';
import type { Redis } from 'ioredis';
import type { KeySpace } from '../../shared/redis/connection.js';
import type { ResourceStore } from '../../shared/store/resource-store.js';
import type { PlansAccess } from './access.js';
import type { BreakGlassNotifierDeps } from './break-glass.js';
import type { BreakGlassNotices } from './break-glass-notices.js';
import type { BreakGlassNoticeQueue } from './workers/break-glass-notices.js';
import type { PlansConfig } from './config.js';
import type { PeerPlans } from './peer-plans.js';
import type { PlansStore } from './store.js';

export interface PlansContext {
  readonly config: PlansConfig;
  /** Plans, assessments and requests for assistance; every read through `access`. */
  readonly store: PlansStore;
  /** The one access check (ISP, then consent). */
  readonly access: PlansAccess;
  /** Relays the `{plans:<Type>}` change records to the audit stream; started by the service. */
  readonly relay: OutboxRelay;
  readonly isp: IspRegistry;
  readonly directory: DirectoryView;
  readonly mpi: MpiView;
  /** Alerts about a person, for the chronology. */
  readonly alerts: AlertsView;
  /** Absolute FHIR base (`http://localhost:4003/fhir`). */
  readonly baseUrl: string;
  /** The alerts service's FHIR base, for chronology entries that point at an alert. */
  readonly alertsBaseUrl: string;
  /** Verifies the access token (shared/auth/middleware.ts). */
  readonly authenticate: RequestHandler;
  /** R4 validation of incoming documents (large ones off the event loop). */
  readonly validation: ValidationPool;
  /** Where a person's Consents are kept (the `{plans:Consent}` resource store). */
  readonly consents: ResourceStore;
  /** The audit service's index of the log: who accessed a person's record (`$accesses`). */
  readonly auditLog: AuditView;
  /** The hub's Redis and key space. */
  readonly redis: Redis;
  readonly keys: KeySpace;
  /** Where the service's own calls to other systems are audited (a read from a peer hub). */
  readonly audit: AuditSink;
  /** Other partnerships' hubs: reading their plans for this hub's agencies, and their reads here (AP-L5). */
  readonly peers?: PeerPlans;
  /** Where a break-glass read's NP/LP notice is written (with the read's record) and queued to be sent through the alerts service. */
  readonly breakGlass?: { readonly store: BreakGlassNotices; readonly queue: BreakGlassNoticeQueue; readonly notifier: BreakGlassNotifierDeps };
}
