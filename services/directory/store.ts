/** The directory's Redis store: the shared FHIR resource store over the types in resource-types.ts. */
import type { Redis } from 'ioredis';
import type { KeySpace } from '../../shared/redis/connection.js';
import { ResourceStore, type StoreAudit } from '../../shared/store/resource-store.js';
import { DIRECTORY_RESOURCE_TYPES } from './resource-types.js';

/** With `audit`, every write commits its change record with it (shared/audit/outbox.ts). */
export function directoryStore(redis: Redis, keys: KeySpace, audit?: StoreAudit): ResourceStore {
  return new ResourceStore(redis, keys, DIRECTORY_RESOURCE_TYPES, audit ? { audit } : {});
}
