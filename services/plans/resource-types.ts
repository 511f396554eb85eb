/**
 * The resource types the plans service keeps and their search parameters. Every
 * type also gets `_id` and `_lastUpdated`. `person` and `agency` index the
 * hub's access tags (domain/access.ts): the index Person a record is about and
 * the agency that wrote it; a client searches by `subject` (translated to
 * `person`, operations/search.ts).
 */
import type { CarePlan, Observation, QuestionnaireResponse, ServiceRequest } from 'fhir/r4.js';
import { CodeSystems } from '../../shared/fhir/systems.js';
import { codesOf, codingsOf, defineResourceType, referenceParam, referencesOf, tokenParam } from '../../shared/store/search-params.js';
import { tagValue } from './domain/access.js';

const tagToken = (system: string) => (r: CarePlan | QuestionnaireResponse | ServiceRequest | Observation) => codesOf(tagValue(r, system));

export const carePlanType = defineResourceType('CarePlan', [
  tokenParam<CarePlan>('person', tagToken(CodeSystems.indexPerson)),
  tokenParam<CarePlan>('agency', tagToken(CodeSystems.authorAgency)),
  tokenParam<CarePlan>('status', (r) => codesOf(r.status)),
  tokenParam<CarePlan>('category', (r) => codingsOf(r.category)),
  // The requests for assistance its activities point to (`_include=CarePlan:activity-reference`, domain/includes.ts).
  referenceParam<CarePlan>('activity-reference', ['ServiceRequest'], (r) => referencesOf(...(r.activity ?? []).map((a) => a.reference))),
]);

export const questionnaireResponseType = defineResourceType('QuestionnaireResponse', [
  tokenParam<QuestionnaireResponse>('person', tagToken(CodeSystems.indexPerson)),
  tokenParam<QuestionnaireResponse>('agency', tagToken(CodeSystems.authorAgency)),
  tokenParam<QuestionnaireResponse>('status', (r) => codesOf(r.status)),
  // The plan or request it assesses for (`_revinclude=QuestionnaireResponse:based-on`).
  referenceParam<QuestionnaireResponse>('based-on', ['CarePlan', 'ServiceRequest'], (r) => referencesOf(...(r.basedOn ?? []))),
]);

export const serviceRequestType = defineResourceType('ServiceRequest', [
  tokenParam<ServiceRequest>('person', tagToken(CodeSystems.indexPerson)),
  tokenParam<ServiceRequest>('agency', tagToken(CodeSystems.authorAgency)),
  tokenParam<ServiceRequest>('status', (r) => codesOf(r.status)),
  referenceParam<ServiceRequest>('performer', ['Organization'], (r) => referencesOf(...(r.performer ?? []))),
  // The plan or request it carries out (`_revinclude=ServiceRequest:based-on`).
  referenceParam<ServiceRequest>('based-on', ['CarePlan', 'ServiceRequest'], (r) => referencesOf(...(r.basedOn ?? []))),
]);

/** A notable event in a person's life, recorded by an agency for the integrated chronology (`effectiveDateTime`: when it happened). */
export const observationType = defineResourceType('Observation', [
  tokenParam<Observation>('person', tagToken(CodeSystems.indexPerson)),
  tokenParam<Observation>('agency', tagToken(CodeSystems.authorAgency)),
  tokenParam<Observation>('status', (r) => codesOf(r.status)),
  tokenParam<Observation>('code', (r) => codingsOf(r.code)),
]);

export const PLANS_RESOURCE_TYPES = [carePlanType, questionnaireResponseType, serviceRequestType, observationType] as const;
