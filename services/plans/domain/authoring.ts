/**
 * What the hub sets on every version it stores, whatever the client sent: who
 * wrote it (the author / requester from the token, on the first version), the
 * access tags (domain/access.ts) and the agency that wrote this version
 * (`meta.source`). Pure.
 */
import type { CarePlan, Observation, QuestionnaireResponse, Reference, ServiceRequest } from 'fhir/r4.js';
import { IdentifierSystems } from '../../../shared/fhir/systems.js';
import { withAccessTags } from './access.js';

type Authored = CarePlan | QuestionnaireResponse | ServiceRequest | Observation;

export interface Author {
  readonly agency: string;
  /** `PractitionerRole/<id>` when a practitioner acts. */
  readonly practitionerRole?: string;
}

const SOURCE_PREFIX = `${IdentifierSystems.agency}/`;

/** The reference to the author: the acting PractitionerRole, else the agency. */
export function authorReference(author: Author): Reference {
  return { reference: author.practitionerRole ?? `Organization/${author.agency}` };
}

/**
 * The resource as stored: the responsible author (`author`, or a request's
 * `requester`) kept from `previous` or set from the token, the access tags of
 * the record, and `meta.source` naming the agency that wrote this version.
 */
export function asStored<T extends Authored>(resource: T, writer: Author, access: { authorAgency: string; personId: string }, previous?: T): T {
  const meta = { ...withAccessTags(resource.meta, access.authorAgency, access.personId), source: `${SOURCE_PREFIX}${writer.agency}` };
  const author = responsibleOf(previous) ?? authorReference(writer);
  switch (resource.resourceType) {
    case 'CarePlan':
      return { ...resource, meta, author };
    case 'QuestionnaireResponse':
      return { ...resource, meta, author };
    case 'ServiceRequest':
      return { ...resource, meta, requester: author };
    case 'Observation':
      // A notable event's recorder: the first performer (others the client names stay after it).
      return { ...resource, meta, performer: [author, ...(resource.performer ?? []).filter((p) => p.reference !== author.reference)] };
  }
}

function responsibleOf(resource: Authored | undefined): Reference | undefined {
  if (!resource) return undefined;
  switch (resource.resourceType) {
    case 'ServiceRequest':
      return resource.requester;
    case 'Observation':
      return resource.performer?.[0];
    default:
      return resource.author;
  }
}

/** The agency that wrote a stored version (its `meta.source`), or undefined. */
export function writerAgencyOf(resource: { meta?: { source?: string } }): string | undefined {
  const source = resource.meta?.source;
  return source?.startsWith(SOURCE_PREFIX) ? source.slice(SOURCE_PREFIX.length) : undefined;
}
