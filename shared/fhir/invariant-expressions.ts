/**
 * What the two places that evaluate R4 invariants with Medplum's FHIRPath interpreter, the way its structure
 * validator does (structure-fast-path.ts: a resource's and its elements' own; datatype-invariants.ts: a nested
 * datatype's), share: which invariants that validator never evaluates, each expression parsed once per process,
 * and the `%ucum` variable.
 */
import { parseFhirPath, toTypedValue, UCUM, type TypedValue } from '@medplum/core';

export type FhirPathAtom = ReturnType<typeof parseFhirPath>;

/** The invariants Medplum's validator does not evaluate (its `skippedConstraintKeys`). */
export const MEDPLUM_SKIPPED_CONSTRAINTS: ReadonlySet<string> = new Set(['ele-1', 'dom-3', 'org-1', 'sdf-19']);

/** The `%ucum` variable of every evaluation. */
export const UCUM_VALUE: TypedValue = toTypedValue(UCUM);

const parsed = new Map<string, FhirPathAtom>();

/** `expression` parsed, once per process (the definitions hold a few hundred distinct ones). */
export function parsedExpression(expression: string): FhirPathAtom {
  let atom = parsed.get(expression);
  if (!atom) {
    atom = parseFhirPath(expression);
    parsed.set(expression, atom);
  }
  return atom;
}
