/**
 * Redis keys of the plans service, in one place. Plans, assessments and
 * requests for assistance are kept in the shared FHIR resource store
 * (shared/store) under the family `plans`: every key of one type shares the
 * hash tag `{plans:<Type>}` — current version, history, manifest, search
 * indexes and the audit outbox — so a new version and its audit change record
 * commit in ONE Lua script (Redis Cluster: one slot).
 */
import { outboxKey } from '../../shared/audit/outbox.js';
import type { KeySpace } from '../../shared/redis/connection.js';
import { ResourceKeys } from '../../shared/store/keys.js';
import { PLANS_TYPES, type PlansType } from './domain/access.js';

export const PLANS_FAMILY = 'plans';

/** The hash tag of the break-glass notices: a read's record and its notices commit together in one slot. */
const BREAK_GLASS_TAG = 'plans:break-glass';

export class PlansKeys {
  constructor(private readonly space: KeySpace) {}

  /** The resource store's keys of one type (`{plans:<Type>}`). */
  of(type: PlansType): ResourceKeys {
    return new ResourceKeys(this.space, type, PLANS_FAMILY);
  }

  /** The keys of the person's Consents (`{plans:Consent}`). */
  get consent(): ResourceKeys {
    return new ResourceKeys(this.space, 'Consent', PLANS_FAMILY);
  }

  /** Every audit outbox the plans service writes (one per type's slot, Consent's too, the break-glass notices'). */
  get outboxes(): string[] {
    return [...PLANS_TYPES.map((type) => this.of(type).outbox), this.consent.outbox, this.breakGlassOutbox];
  }

  /** A break-glass read's notice to the NP/LP (hash: its state and what it says), under `{plans:break-glass}`. */
  breakGlassNotice(id: string): string {
    return this.space.key(BREAK_GLASS_TAG, 'notice', id);
  }

  /** Set: notices written whose job is not yet confirmed queued (the sweeper queues them). */
  get breakGlassUnqueued(): string {
    return this.space.key(BREAK_GLASS_TAG, 'unqueued');
  }

  /** The audit outbox of the break-glass reads' records, committed with their notices. */
  get breakGlassOutbox(): string {
    return outboxKey(this.space, BREAK_GLASS_TAG);
  }
}
