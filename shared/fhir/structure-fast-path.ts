/**
 * A faster walk of Medplum's structure validation for the common case — a resource its validator finds no error
 * in — used only to say "no errors": whenever this walk finds a problem, or anything it does not model exactly,
 * validate.ts runs Medplum's `validateResource` as before, so every refusal (its issues, texts, paths, order) is
 * Medplum's own. A valid verdict is the same too: `structureErrorFree` answers true only where Medplum's walk
 * would report no issue of severity error (its warnings are not part of a verdict: validate.ts drops them).
 *
 * Why: Medplum's walk visits every element of a type's schema for every object — present or not (24 for a
 * Patient, ~15 for each Reference, Coding or Identifier…) — building a typed value, a path string and its
 * choice-type property names for each (`getTypedPropertyValueWithSchema`: a quarter of an alert Bundle's
 * validation on its own). This walk visits the keys the object has and the schema's required elements, which is
 * what decides the verdict, and evaluates the very same FHIRPath invariants with the same variables (Medplum's
 * evaluator) on the same typed values. What it mirrors (`@medplum/core` 4.5.2, typeschema/validation.ts):
 * - the root type's invariants, then for each element present its cardinality (array or not, min..max), each
 *   value's element invariants (severity error, but `ele-1`, `dom-3`, `org-1`, `sdf-19`), its primitive checks
 *   (JSON type, non-blank string, the type's pattern, 1 MB, number ranges) or, for a complex value, its own walk;
 * - each required element (min > 0) present;
 * - no key but the schema's elements (a choice type's one resolved name), `resourceType`, and nothing null.
 * What it does not model, and so leaves to Medplum (answering false): primitive extensions (`_given`), a primitive
 * given an object, slicing, fixed and pattern values, two names of one choice element, a name Medplum's choice
 * resolution would read otherwise, empty values, `resourceType` on a non-resource, anything that throws.
 * `structure-fast-path.test.ts` holds it to Medplum's verdicts on a broad corpus.
 */
import { evalFhirPathTyped, getDataType, isEmpty, isPrimitiveType, isResource, parseFhirPath, toTypedValue, UCUM, validationRegexes } from '@medplum/core';
import type { InternalSchemaElement, InternalTypeSchema, TypedValue } from '@medplum/core';

type FhirPathAtom = ReturnType<typeof parseFhirPath>;

/** Medplum's `fhirTypeToJsType` (validation.ts), which its typings narrow to a const map. */
const JS_TYPE: Readonly<Record<string, 'string' | 'boolean' | 'number'>> = {
  base64Binary: 'string',
  boolean: 'boolean',
  canonical: 'string',
  code: 'string',
  date: 'string',
  dateTime: 'string',
  decimal: 'number',
  id: 'string',
  instant: 'string',
  integer: 'number',
  integer64: 'string',
  markdown: 'string',
  oid: 'string',
  positiveInt: 'number',
  string: 'string',
  time: 'string',
  unsignedInt: 'number',
  uri: 'string',
  url: 'string',
  uuid: 'string',
  xhtml: 'string',
  'http://hl7.org/fhirpath/System.String': 'string',
};

/** The invariants Medplum's validator does not evaluate (its `skippedConstraintKeys`). */
const SKIPPED_CONSTRAINTS = new Set(['ele-1', 'dom-3', 'org-1', 'sdf-19']);

const MAX_STRING = 1024 * 1024;

/** One JSON key of a type, as Medplum's walk reads it. */
interface Property {
  readonly element: InternalSchemaElement;
  /** The type of a value under this key, before a `Resource` is resolved to its `resourceType`. */
  readonly type: string;
  /** The element's error invariants Medplum evaluates, parsed once. */
  readonly invariants: readonly FhirPathAtom[];
  /** Something Medplum does here that this walk does not model (slices, fixed or pattern values). */
  readonly unmodelled: boolean;
}

interface TypeWalk {
  /** JSON key → property; a key two elements could claim is absent here and in `ambiguous`. */
  readonly properties: ReadonlyMap<string, Property>;
  readonly ambiguous: ReadonlySet<string>;
  /** The choice elements, by element key: at most one of their names may be present. */
  readonly choiceOf: ReadonlyMap<string, string>;
  readonly required: readonly { readonly names: readonly string[] }[];
  /** The type's own invariants (evaluated at the root only, as Medplum does). */
  readonly invariants: readonly FhirPathAtom[];
}

const walks = new WeakMap<InternalTypeSchema, TypeWalk>();
const parsed = new Map<string, FhirPathAtom>();

function atom(expression: string): FhirPathAtom {
  let a = parsed.get(expression);
  if (!a) {
    a = parseFhirPath(expression);
    parsed.set(expression, a);
  }
  return a;
}

function invariantsOf(constraints: InternalSchemaElement['constraints']): FhirPathAtom[] {
  return (constraints ?? []).filter((c) => c.severity === 'error' && !SKIPPED_CONSTRAINTS.has(c.key)).map((c) => atom(c.expression));
}

function capitalize(word: string): string {
  return word ? word.charAt(0).toUpperCase() + word.substring(1) : '';
}

/** The first `[x]` element Medplum's `isChoiceOfType` finds for a key (its split before capitals). */
function choiceElementMedplumFinds(key: string, elements: Record<string, InternalSchemaElement>): string | undefined {
  let test = '';
  for (const part of key.split(/(?=[A-Z])/g)) {
    test += part;
    if (elements[test + '[x]']) return test + '[x]';
  }
  return undefined;
}

function walkOf(schema: InternalTypeSchema): TypeWalk {
  const known = walks.get(schema);
  if (known) return known;
  const properties = new Map<string, Property>();
  const ambiguous = new Set<string>();
  const choiceOf = new Map<string, string>();
  const required: { names: string[] }[] = [];
  const claim = (name: string, property: Property) => {
    if (properties.has(name) || ambiguous.has(name)) {
      properties.delete(name);
      ambiguous.add(name);
    } else properties.set(name, property);
  };
  for (const [key, element] of Object.entries(schema.elements)) {
    const last = element.path.substring(element.path.lastIndexOf('.') + 1);
    const invariants = invariantsOf(element.constraints);
    const unmodelled = (element.slicing?.slices.length ?? 0) > 0 || element.fixed !== undefined || element.pattern !== undefined;
    const names: string[] = [];
    for (const t of element.type ?? []) {
      // Medplum reads each type's name in turn (getTypedPropertyValueWithSchema); a plain element's is its own.
      const name = last.replace('[x]', capitalize(t.code));
      if (names.includes(name)) continue;
      names.push(name);
      // Element/BackboneElement stand for the element's first type (its inner type's name).
      const type = t.code === 'Element' || t.code === 'BackboneElement' ? element.type[0]!.code : t.code;
      claim(name, { element, type, invariants, unmodelled });
      if (last.endsWith('[x]')) {
        choiceOf.set(name, key);
        // A choice name Medplum's additional-property check would resolve to another element: not modelled.
        if (choiceElementMedplumFinds(name, schema.elements) !== key) ambiguous.add(name);
      }
    }
    // A key the walk would reach under another name than its own (a schema key unlike its path): not modelled.
    if (!last.endsWith('[x]') && last !== key) names.length = 0;
    if (element.min > 0) required.push({ names });
  }
  for (const name of ambiguous) properties.delete(name);
  const walk: TypeWalk = { properties, ambiguous, choiceOf, required, invariants: invariantsOf(schema.constraints) };
  walks.set(schema, walk);
  return walk;
}

class Walk {
  private readonly resources: object[] = [];
  private readonly ucum = toTypedValue(UCUM);

  constructor(private readonly root: TypedValue) {}

  /** True when Medplum's walk of the root would find no error. */
  run(): boolean {
    const schema = getDataType(this.root.type);
    this.resources.push(this.root.value as object);
    if (!this.holds(walkOf(schema).invariants, this.root)) return false;
    return this.object(this.root.value as Record<string, unknown>, schema);
  }

  private object(obj: Record<string, unknown>, schema: InternalTypeSchema): boolean {
    const walk = walkOf(schema);
    const resource = isResource(obj);
    if (resource) {
      if (typeof obj.resourceType !== 'string') return false;
      this.resources.push(obj);
    }
    const choices = new Set<string>();
    for (const key of Object.keys(obj)) {
      if (key === 'resourceType') continue;
      const property = walk.properties.get(key);
      if (!property || property.unmodelled) return false;
      const choice = walk.choiceOf.get(key);
      if (choice !== undefined) {
        if (choices.has(choice)) return false;
        choices.add(choice);
      }
      if (!this.property(obj[key], property)) return false;
    }
    for (const { names } of walk.required) {
      if (!names.some((name) => obj[name] !== undefined)) return false;
    }
    if (resource) this.resources.pop();
    return true;
  }

  private property(raw: unknown, property: Property): boolean {
    const { element } = property;
    if (isEmpty(raw)) return false;
    const isArray = Array.isArray(raw);
    if (isArray !== Boolean(element.isArray)) return false;
    const values = isArray ? (raw as unknown[]) : [raw];
    if (values.length < element.min || values.length > element.max) return false;
    // Medplum checks every value's invariants (and its primitive form) before it walks into any of them.
    const typed: TypedValue[] = [];
    for (const value of values) {
      if (value === null || value === undefined) return false;
      const type = property.type === 'Resource' && isResource(value) ? (value as { resourceType: unknown }).resourceType : property.type;
      if (typeof type !== 'string') return false;
      const tv: TypedValue = { type, value };
      if (!this.holds(property.invariants, tv)) return false;
      if (isPrimitiveType(type)) {
        if (!primitiveOk(value, type)) return false;
      } else {
        if (typeof value !== 'object' || Array.isArray(value) || isEmpty(value)) return false;
        // A `Resource` element holding something without a resourceType: Medplum walks it as a bare Resource.
        if (type === 'Resource') return false;
      }
      typed.push(tv);
    }
    for (const tv of typed) {
      if (!isPrimitiveType(tv.type) && !this.object(tv.value as Record<string, unknown>, getDataType(tv.type))) return false;
    }
    return true;
  }

  /** Every invariant true of the value, evaluated as Medplum's `isExpressionTrue` does. */
  private holds(invariants: readonly FhirPathAtom[], value: TypedValue): boolean {
    if (invariants.length === 0) return true;
    const variables: Record<string, TypedValue> = { '%context': value, '%ucum': this.ucum };
    const current = this.resources[this.resources.length - 1];
    if (current !== undefined) variables['%resource'] = toTypedValue(current);
    if (isResource(this.root.value)) variables['%rootResource'] = this.root;
    for (const invariant of invariants) {
      const result = evalFhirPathTyped(invariant, [value], variables);
      if (result.length !== 1 || result[0]!.value !== true) return false;
    }
    return true;
  }
}

function primitiveOk(value: unknown, type: string): boolean {
  const expected = JS_TYPE[type];
  if (expected === undefined || typeof value !== expected) return false;
  if (expected === 'string') {
    const s = value as string;
    if (!s.trim() || s.length > MAX_STRING) return false;
    const regex = validationRegexes[type];
    return !regex || regex.exec(s) !== null;
  }
  if (expected === 'number') {
    const n = value as number;
    if (Number.isNaN(n) || !Number.isFinite(n)) return false;
    if ((type === 'integer' || type === 'positiveInt' || type === 'unsignedInt') && !Number.isInteger(n)) return false;
    if (type === 'positiveInt' && n <= 0) return false;
    if (type === 'unsignedInt' && n < 0) return false;
  }
  return true;
}

/**
 * True when Medplum's `validateResource(resource)` would report no issue of severity error; false when it would,
 * or when this walk cannot tell (then ask Medplum). Never throws.
 */
export function structureErrorFree(resource: { resourceType: string }): boolean {
  try {
    return new Walk(toTypedValue(resource)).run();
  } catch {
    return false;
  }
}
