/**
 * Redis keys of the plans service, in one place. Plans, assessments and
 * requests for assistance are kept in the shared FHIR resource store
 * (shared/store) under the family `plans`: every key of one type shares the
 * hash tag `{plans:<Type>}` — current version, history, manifest, search
 * indexes and the audit outbox — so a new version and its audit change record
 * commit in ONE Lua script (Redis Cluster: one slot).
 */
import type { KeySpace } from '../../shared/redis/connection.js';
import { ResourceKeys } from '../../shared/store/keys.js';
import { PLANS_TYPES, type PlansType } from './domain/access.js';

export const PLANS_FAMILY = 'plans';

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

  /** Every audit outbox the plans service writes (one per type's slot, Consent's too). */
  get outboxes(): string[] {
    return [...PLANS_TYPES.map((type) => this.of(type).outbox), this.consent.outbox];
  }
}
