/** Everything the agency simulator's operations share, built once in `module.ts`. */
import type { KeyResolver } from '../../shared/auth/jwks-resolver.js';
import type { Logger } from '../../shared/log.js';
import type { DirectoryView } from '../directory/view.js';
import type { AgencySimConfig } from './config.js';
import type { AgencySimStore } from './store.js';

export interface AgencySimContext {
  readonly config: AgencySimConfig;
  readonly store: AgencySimStore;
  /** Which agencies exist (a simulated agency is one the directory knows). */
  readonly directory: DirectoryView;
  /** The hub's published signing keys (its JWKS), to check delivery tokens with. */
  readonly resolveKey: KeyResolver;
  /** The hub's token issuer: the `iss` a delivery token must carry. */
  readonly issuer: string;
  /** Where a pull agency signs in and reads its inbox (the hub's token endpoint and alerts service). */
  readonly hub: { readonly tokenUrl: string; readonly alertsUrl: string };
  readonly log: Logger;
  /**
   * Runs `start`, which starts reads on the simulator's Redis connection (its store's and the directory view's), so that
   * what it starts synchronously leaves in one socket write (shared/redis/sent-together.ts).
   */
  readonly sentTogether: <T>(start: () => T) => T;
  /** Injected for tests; defaults to `Date.now`. */
  readonly now: () => number;
}
