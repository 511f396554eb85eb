/**
 * Where Consents live: the shared versioned resource store (every grant, narrowing,
 * extension and revocation a new version, `_history` and `vread`, `If-Match`), each
 * write committing its audit change record with it. A stored Consent carries the
 * index Person its `patient` was resolved to (`Extensions.subjectPerson`), indexed as
 * `person`, so the decision reads a person's Consents in one search — on every
 * request, never from a cache.
 *
 * What the decision reads is each Consent's projection: its rules as the decision
 * applies them (domain/consent.ts `ConsentRecord`, as JSON), which the store writes
 * with every version in the version's own script and removes with a delete — so it is
 * never a step behind the Consent, and a revocation bites on the very next request.
 */
import type { Consent } from 'fhir/r4.js';
import type { Redis } from 'ioredis';
import { Extensions } from '../../shared/fhir/systems.js';
import type { KeySpace } from '../../shared/redis/connection.js';
import { ResourceStore, type StoreAudit } from '../../shared/store/resource-store.js';
import { consentRecordOf, type ConsentRecord } from './domain/consent.js';
import { codesOf, defineResourceType, referenceParam, referencesOf, tokenParam } from '../../shared/store/search-params.js';
import { PLANS_FAMILY } from './keys.js';

/** `Consent?patient=&person=&status=&actor=`; each version's projection is its `ConsentRecord`. */
export const consentType = defineResourceType(
  'Consent',
  [
    referenceParam<Consent>('patient', ['Patient'], (r) => referencesOf(r.patient)),
    referenceParam<Consent>('person', ['Person'], (r) => [personOfConsent(r)]),
    tokenParam<Consent>('status', (r) => codesOf(r.status)),
    referenceParam<Consent>('actor', ['Organization', 'PractitionerRole'], (r) =>
      referencesOf(...[r.provision, ...(r.provision?.provision ?? [])].flatMap((p) => (p?.actor ?? []).map((a) => a.reference))),
    ),
  ],
  { projection: (consent) => JSON.stringify(consentRecordOf(consent)) },
);

/** The Consent store, keys `{plans:Consent}` (keys.ts), each write committing its change record with it. */
export function consentStore(redis: Redis, keys: KeySpace, audit?: StoreAudit): ResourceStore {
  return new ResourceStore(redis, keys, [consentType], { family: PLANS_FAMILY, ...(audit ? { audit } : {}) });
}

/** `Person/<id>` a stored Consent is about (the hub's resolution of its `patient`). */
export function personOfConsent(consent: Consent): string | undefined {
  return consent.extension?.find((e) => e.url === Extensions.subjectPerson)?.valueReference?.reference;
}

/** The Consent with the resolved Person set (any claim a client sent there replaced). */
export function withPerson(consent: Consent, personId: string): Consent {
  const others = (consent.extension ?? []).filter((e) => e.url !== Extensions.subjectPerson);
  return { ...consent, extension: [...others, { url: Extensions.subjectPerson, valueReference: { reference: `Person/${personId}` } }] };
}

/**
 * Every Consent about a Person, whatever its status, as the decision reads it, read fresh:
 * the index and the projections in one round trip (`recordOfProjection` reads each).
 */
export async function consentProjectionsOf(store: ResourceStore, personId: string): Promise<string[]> {
  return store.findProjections('Consent', 'person', `Person/${personId}`);
}

/** Every Consent about a Person, whatever its status, read fresh into the rules the decision applies. */
export async function consentRecordsOf(store: ResourceStore, personId: string): Promise<ConsentRecord[]> {
  return (await consentProjectionsOf(store, personId)).map(recordOfProjection);
}

/** A stored Consent's projection read back (written by `consentType`'s projection, from `consentRecordOf`). */
export function recordOfProjection(text: string): ConsentRecord {
  return JSON.parse(text) as ConsentRecord;
}
