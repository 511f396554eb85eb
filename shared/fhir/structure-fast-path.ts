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
import { evalFhirPathTyped, getDataType, isEmpty, isPrimitiveType, isResource, toTypedValue, validationRegexes } from '@medplum/core';
import type { InternalSchemaElement, InternalTypeSchema, TypedValue } from '@medplum/core';
import { MEDPLUM_SKIPPED_CONSTRAINTS, parsedExpression, UCUM_VALUE, type FhirPathAtom } from './invariant-expressions.js';

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

const MAX_STRING = 1024 * 1024;

/** An invariant as evaluated here: its parsed expression, and when known a test that says for sure it holds. */
interface Invariant {
  readonly atom: FhirPathAtom;
  /** True only when the expression surely evaluates to true for `value` (its `%resource` being `resource`); else evaluate it. */
  readonly surely?: (value: unknown, resource: unknown) => boolean;
}

const nonEmptyString = (v: unknown): v is string => typeof v === 'string' && v !== '';
const plainObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/** A Bundle's entries when they are all plain objects (none: []); undefined otherwise. */
function entriesOf(bundle: unknown): Record<string, unknown>[] | undefined {
  if (!plainObject(bundle)) return undefined;
  const entry = bundle.entry;
  if (entry === undefined) return [];
  return Array.isArray(entry) && entry.every(plainObject) ? entry : undefined;
}

/**
 * The first entry's resource is one resource or none (Medplum evaluates both sides of `implies`, and a list there
 * is an evaluation error, not a vacuous truth).
 */
function firstResourceSingle(bundle: unknown): boolean {
  const first = entriesOf(bundle)?.[0];
  if (!first) return entriesOf(bundle) !== undefined;
  return first.resource === undefined || (plainObject(first.resource) && nonEmptyString(first.resource.resourceType));
}

/** The Bundle's type when it is a non-empty string other than those named (an invariant about them holds vacuously). */
function typeOtherThan(bundle: unknown, ...types: string[]): boolean {
  const type = plainObject(bundle) ? bundle.type : undefined;
  return nonEmptyString(type) && !types.includes(type);
}

/**
 * Sure answers for the R4 Bundle invariants every message Bundle is checked against — half of what the walk still
 * cost (its FHIRPath evaluation by Medplum's interpreter, ~0.1 ms a message). Each answers true only in the plain
 * case where the expression's value is obvious (a type other than the one it is about, no such key at all,
 * distinct fullUrls and no versionIds); any other case evaluates the expression. Keyed by where the invariant
 * stands and its exact text, so another definition of it is evaluated as written. `structure-fast-path.test.ts`
 * holds each to the evaluated expression.
 */
export const SURE_INVARIANTS: ReadonlyMap<string, (value: unknown, resource: unknown) => boolean> = new Map([
  ['Bundle|total.empty() or (type = \'searchset\') or (type = \'history\')', (b: unknown) => plainObject(b) && b.total === undefined && typeOtherThan(b)],
  ['Bundle|entry.search.empty() or (type = \'searchset\')', (b: unknown) => typeOtherThan(b) && entriesOf(b)?.every((e) => e.search === undefined) === true],
  [
    "Bundle|entry.all(request.exists() = (%resource.type = 'batch' or %resource.type = 'transaction' or %resource.type = 'history'))",
    (b: unknown, resource: unknown) => b === resource && typeOtherThan(b, 'batch', 'transaction', 'history') && entriesOf(b)?.every((e) => e.request === undefined) === true,
  ],
  [
    "Bundle|entry.all(response.exists() = (%resource.type = 'batch-response' or %resource.type = 'transaction-response' or %resource.type = 'history'))",
    (b: unknown, resource: unknown) =>
      b === resource && typeOtherThan(b, 'batch-response', 'transaction-response', 'history') && entriesOf(b)?.every((e) => e.response === undefined) === true,
  ],
  [
    "Bundle|(type = 'history') or entry.where(fullUrl.exists()).select(fullUrl&resource.meta.versionId).isDistinct()",
    (b: unknown) => {
      const entries = entriesOf(b);
      if (!entries || !typeOtherThan(b, 'history')) return false;
      const urls = new Set<string>();
      for (const e of entries) {
        if (e.resource !== undefined && !(plainObject(e.resource) && e.resource.meta === undefined)) return false;
        if (e.fullUrl === undefined) continue;
        if (!nonEmptyString(e.fullUrl) || urls.has(e.fullUrl)) return false;
        urls.add(e.fullUrl);
      }
      return true;
    },
  ],
  [
    "Bundle|type = 'document' implies (identifier.system.exists() and identifier.value.exists())",
    (b: unknown) => typeOtherThan(b, 'document') && plainObject(b) && (b.identifier === undefined || plainObject(b.identifier)),
  ],
  [
    "Bundle|type = 'document' implies (timestamp.hasValue())",
    (b: unknown) => typeOtherThan(b, 'document') && plainObject(b) && (b.timestamp === undefined || nonEmptyString(b.timestamp)),
  ],
  ["Bundle|type = 'document' implies entry.first().resource.is(Composition)", (b: unknown) => typeOtherThan(b, 'document') && firstResourceSingle(b)],
  [
    "Bundle|type = 'message' implies entry.first().resource.is(MessageHeader)",
    (b: unknown) => {
      if (!firstResourceSingle(b)) return false;
      if (typeOtherThan(b, 'message')) return true;
      const first = entriesOf(b)?.[0];
      return plainObject(b) && b.type === 'message' && plainObject(first?.resource) && first.resource.resourceType === 'MessageHeader';
    },
  ],
  ['Bundle.entry|resource.exists() or request.exists() or response.exists()', (e: unknown) => plainObject(e) && plainObject(e.resource) && Object.keys(e.resource).length > 0],
  [
    "Bundle.entry|fullUrl.exists() implies fullUrl.contains('/_history/').not()",
    (e: unknown) => plainObject(e) && (e.fullUrl === undefined || (nonEmptyString(e.fullUrl) && !e.fullUrl.includes('/_history/'))),
  ],
]);

/** One JSON key of a type, as Medplum's walk reads it. */
interface Property {
  readonly element: InternalSchemaElement;
  /** The type of a value under this key, before a `Resource` is resolved to its `resourceType`. */
  readonly type: string;
  /** The element's error invariants Medplum evaluates, parsed once. */
  readonly invariants: readonly Invariant[];
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
  readonly invariants: readonly Invariant[];
}

const walks = new WeakMap<InternalTypeSchema, TypeWalk>();
function invariantsOf(constraints: InternalSchemaElement['constraints'], where: string): Invariant[] {
  return (constraints ?? [])
    .filter((c) => c.severity === 'error' && !MEDPLUM_SKIPPED_CONSTRAINTS.has(c.key))
    .map((c) => {
      const surely = SURE_INVARIANTS.get(`${where}|${c.expression}`);
      return { atom: parsedExpression(c.expression), ...(surely ? { surely } : {}) };
    });
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
    const invariants = invariantsOf(element.constraints, element.path);
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
  const walk: TypeWalk = { properties, ambiguous, choiceOf, required, invariants: invariantsOf(schema.constraints, schema.path) };
  walks.set(schema, walk);
  return walk;
}

class Walk {
  private readonly resources: object[] = [];

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
  private holds(invariants: readonly Invariant[], value: TypedValue): boolean {
    if (invariants.length === 0) return true;
    const current = this.resources[this.resources.length - 1];
    let variables: Record<string, TypedValue> | undefined;
    for (const invariant of invariants) {
      if (invariant.surely?.(value.value, current)) continue;
      if (!variables) {
        variables = { '%context': value, '%ucum': UCUM_VALUE };
        if (current !== undefined) variables['%resource'] = toTypedValue(current);
        if (isResource(this.root.value)) variables['%rootResource'] = this.root;
      }
      const result = evalFhirPathTyped(invariant.atom, [value], variables);
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
