/** The directory's Redis store: the shared FHIR resource store over the types in resource-types.ts. */
import type { Redis } from 'ioredis';
import type { KeySpace } from '../../shared/redis/connection.js';
import { ResourceStore } from '../../shared/store/resource-store.js';
import { DIRECTORY_RESOURCE_TYPES } from './resource-types.js';

export function directoryStore(redis: Redis, keys: KeySpace): ResourceStore {
  return new ResourceStore(redis, keys, DIRECTORY_RESOURCE_TYPES);
}
