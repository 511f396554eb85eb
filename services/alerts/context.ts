/** Everything the alerts service's HTTP operations share, built once in `module.ts`. */
import type { RequestHandler } from 'express';
import type { AuditSink } from '../../shared/audit/exchange.js';
import type { OutboxRelay } from '../../shared/audit/outbox-relay.js';
import type { DelayedRun } from '../../shared/runtime/delayed-run.js';
import type { ValidationPool } from '../../shared/fhir/validation-pool.js';
import type { IspRegistry } from '../../shared/isp/registry.js';
import type { DirectoryView } from '../directory/view.js';
import type { MpiView } from '../mpi/view.js';
import type { PlansView } from '../plans/view.js';
import type { AlertsConfig } from './config.js';
import type { PeerHubs } from './peer-hubs.js';
import type { AlertStore } from './store.js';
import type { DeliveryQueue } from './workers/deliveries.js';

export interface AlertsContext {
  /** The service's own settings (config.ts). */
  readonly config: AlertsConfig;
  readonly store: AlertStore;
  /** Records the calls the service's operations make to other systems (a re-drive asked of a peer hub). */
  readonly audit: AuditSink;
  /** Relays the `{alerts}` change records to the audit stream; started by the service. */
  readonly relay: OutboxRelay;
  /**
   * The relay pass accepts ask for once their records (the acceptance's change record and the request's own, committed
   * with it) are in the outbox, and do not wait for: one pass, right after the answer, for every accept answered meanwhile.
   * It moves the accepts' outbox only: the delivery steps' records are the delivery worker's to relay (keys.ts).
   */
  readonly relayPass: DelayedRun;
  /** The producer side of the delivery queue (and the sweeper). */
  readonly deliveries: DeliveryQueue;
  /** The partnership's ISPs: routing and every flow check. */
  readonly isp: IspRegistry;
  readonly directory: DirectoryView;
  readonly mpi: MpiView;
  /** The person's Consents: a pulled message is withheld from an agency a Consent withholds their alerts from, as a pushed one is. */
  readonly consent: Pick<PlansView, 'alertDelivery'>;
  /**
   * Runs `start`, which starts reads on the service's Redis connection (the store's, and the MPI's and directory's
   * views, share it), so that what it starts synchronously leaves in one socket write (shared/redis/sent-together.ts).
   */
  readonly sentTogether: <T>(start: () => T) => T;
  /** Absolute FHIR base (`http://localhost:4002/fhir`). */
  readonly baseUrl: string;
  /** Verifies the access token (shared/auth/middleware.ts). */
  readonly authenticate: RequestHandler;
  /** R4 validation of incoming messages (large ones off the event loop). */
  readonly validation: ValidationPool;
  /** Other partnerships' hubs: where their agencies' deliveries are forwarded, and who may forward here (MA-L5). */
  readonly peers: PeerHubs;
}
