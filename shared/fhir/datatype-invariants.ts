/**
 * The invariants (error severity) R4 sets on a complex datatype itself — cpt-2 on ContactPoint, qty-3 on Quantity
 * and its specialisations, rng-2, att-1, age-1, cnt-3, dis-1, drt-1, rat-1, exp-1, trd-1..3, the eld-* of
 * ElementDefinition, and the profiles' sqty-1 (SimpleQuantity) and mqty-1 (MoneyQuantity) — evaluated on each value
 * of that type nested in a resource. Medplum's structure validator evaluates a type's own invariants only at the
 * root resource (and an element's, which for a datatype's elements are ele-1 and ext-1), so these were never checked
 * (a Patient's `telecom: [{value: "0131"}]`, with no system, was stored). value-checks.ts walks the values and asks
 * `failedInvariant` of each; the issue is worded as Medplum words an invariant it evaluates.
 *
 * Evaluated with Medplum's own FHIRPath evaluator over the same expressions and variables (`%context`, `%ucum`),
 * so a verdict is the expression's. The commonest ones have a test in plain JavaScript that says only "surely
 * holds" (datatype-invariants.test.ts holds each to its expression); anything else is left to FHIRPath. The
 * invariants per (element, type) are worked out once: a type without any costs nothing per value.
 */
import { evalFhirPathTyped, tryGetDataType, type InternalSchemaElement, type TypedValue } from '@medplum/core';
import { MEDPLUM_SKIPPED_CONSTRAINTS, parsedExpression, UCUM_VALUE, type FhirPathAtom } from './invariant-expressions.js';

export interface DatatypeInvariant {
  readonly key: string;
  readonly description: string;
  readonly expression: string;
  readonly atom: FhirPathAtom;
  /** True only when the invariant surely holds of the value (false: evaluate the expression). */
  readonly surely?: (value: Record<string, unknown>) => boolean;
}

export interface FailedInvariant {
  readonly invariant: DatatypeInvariant;
  /** Set when evaluating the expression threw (Medplum reports that as a processing error): its message. */
  readonly error?: string;
}

/**
 * Checked by value-checks.ts in its own way: per-1 (a Period's order, over the instants a partial date may mean)
 * and ref-1 (a `#id` names a contained resource).
 */
const CHECKED_ELSEWHERE = new Set(['per-1', 'ref-1']);
const STRUCTURE_DEFINITION = 'http://hl7.org/fhir/StructureDefinition/';

/** A non-empty string: FHIRPath's `exists()` of a string element. */
function present(v: unknown): boolean {
  return typeof v === 'string' && v !== '';
}

/** No value and no primitive extensions (`_name`): FHIRPath's `empty()` surely. */
function absent(value: Record<string, unknown>, name: string): boolean {
  return value[name] === undefined && value[`_${name}`] === undefined;
}

/** "Surely holds" tests, each for the exact R4 expression (another expression under the key is evaluated as written). */
const SURE: ReadonlyMap<string, (value: Record<string, unknown>) => boolean> = new Map([
  ['cpt-2|value.empty() or system.exists()', (v) => absent(v, 'value') || present(v.system)],
  ['qty-3|code.empty() or system.exists()', (v) => absent(v, 'code') || present(v.system)],
  ['att-1|data.empty() or contentType.exists()', (v) => absent(v, 'data') || present(v.contentType)],
  ['sqty-1|comparator.empty()', (v) => absent(v, 'comparator')],
]);

const byType = new Map<string, readonly DatatypeInvariant[]>();

/**
 * The invariants to evaluate on a value of `type` held by `element`: the type's own (a profile's, such as
 * SimpleQuantity, where the element names one), less those Medplum evaluates as the element's own or skips, and
 * per-1 and ref-1 (value-checks' own checks).
 */
export function datatypeInvariants(element: InternalSchemaElement, type: string): readonly DatatypeInvariant[] {
  const profile = element.type.find((t) => t.code === type)?.profile?.find((p) => p.startsWith(STRUCTURE_DEFINITION));
  const profiled = profile ? tryGetDataType(profile.slice(STRUCTURE_DEFINITION.length)) : undefined;
  const schema = profiled ?? tryGetDataType(type);
  if (!schema || schema.kind === 'resource') return [];
  const own = new Set((element.constraints ?? []).map((c) => c.key));
  const cacheKey = `${schema.name}|${[...own].sort().join(',')}`;
  let invariants = byType.get(cacheKey);
  if (!invariants) {
    invariants = (schema.constraints ?? [])
      .filter((c) => c.severity === 'error' && !MEDPLUM_SKIPPED_CONSTRAINTS.has(c.key) && !CHECKED_ELSEWHERE.has(c.key) && !own.has(c.key))
      .map((c) => {
        const surely = SURE.get(`${c.key}|${c.expression}`);
        return { key: c.key, description: c.description, expression: c.expression, atom: parsedExpression(c.expression), ...(surely ? { surely } : {}) };
      });
    byType.set(cacheKey, invariants);
  }
  return invariants;
}

/**
 * The first of `invariants` not met by `value` (as Medplum's validator reports only a value's first), or undefined
 * when all hold: one holds when its expression gives exactly `true`, as Medplum's `isExpressionTrue` has it.
 */
export function failedInvariant(invariants: readonly DatatypeInvariant[], type: string, value: Record<string, unknown>): FailedInvariant | undefined {
  let typed: TypedValue | undefined;
  for (const invariant of invariants) {
    if (invariant.surely?.(value)) continue;
    typed ??= { type, value };
    try {
      const result = evalFhirPathTyped(invariant.atom, [typed], { '%context': typed, '%ucum': UCUM_VALUE });
      if (result.length !== 1 || result[0]!.value !== true) return { invariant };
    } catch (error) {
      return { invariant, error: error instanceof Error ? error.message : String(error) };
    }
  }
  return undefined;
}
