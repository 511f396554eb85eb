/**
 * What an R4 resource must be that Medplum's structure validator does not
 * check, walked over the same structure definitions before it runs
 * (validate.ts):
 *
 * - JSON shape: an object where a complex type is expected, an array where the
 *   element repeats, a single value where it does not. Medplum walks whatever
 *   it finds as the expected type, so a 900 KB string where `name[]` is
 *   expected became one issue per character; here it is one issue, and
 *   Medplum does not run on a resource whose shape is wrong.
 * - Calendar dates: `2023-02-30` matches R4's date pattern but is no day.
 * - Periods (R4 invariant per-1): a `start` after the `end` — the structure validator does not evaluate it.
 * - The other invariants (error severity) R4 sets on a complex datatype itself — cpt-2, qty-3, rng-2, att-1, age-1,
 *   cnt-3, dis-1, drt-1, rat-1, sqty-1, mqty-1, exp-1, trd-1..3, eld-* — on every value of that type in the resource:
 *   the structure validator evaluates a type's own invariants only at the root resource (datatype-invariants.ts).
 * - Integer ranges: R4 integers are 32-bit (`multipleBirthInteger: 1e308` is
 *   a JavaScript integer, not an R4 one).
 * - Required bindings: a `code` (or a Coding of the bound system) must be in
 *   the value set (terminology.ts), e.g. `gender: banana` is refused.
 * - Depth: no deeper than MAX_JSON_DEPTH, so nothing recursive overflows.
 * - No `__proto__` / `constructor` / `prototype` keys (the structure validator
 *   finds them "in" every type's element table, through Object.prototype), nor any other
 *   key it takes for an element without reading it: Object.prototype's other names
 *   (`toString`, `_valueOf`…), a choice element's literal name (`deceased[x]`), and
 *   `resourceType` in anything but a resource.
 * - FHIR JSON's own rules (json.html): no empty array, no empty string, one
 *   key per choice element (`deceasedBoolean` and `deceasedDateTime` together
 *   is two values of one element).
 * - Narrative XHTML (narrative.ts): a `<div>` root, no scripts or event handlers (txt-1), some content (txt-2).
 * - Exact R4 formats of dateTime and instant (a time needs its zone:
 *   `2023-01-01T10:00:00` is no dateTime) and of a time.
 * - References: a literal `reference` is `Type/id` (optionally
 *   `/_history/vid`), an absolute URL, a `urn:uuid:` / `urn:oid:` or `#id` of
 *   a contained resource that is there (ref-1); its type is one the element
 *   may refer to (`CareTeam.subject` is a Patient or a Group), and agrees with
 *   `Reference.type` when both are given.
 *
 * At most MAX_ISSUES problems are built; the rest are only counted.
 */
import { capitalize, fhirTypeToJsType, tryGetDataType, type InternalSchemaElement, type InternalTypeSchema } from '@medplum/core';
import type { OperationOutcomeIssue } from 'fhir/r4.js';
import { FORBIDDEN_KEYS, MAX_JSON_DEPTH } from '../http/input-guard.js';
import { MAX_ISSUES, type IssueCode } from './outcome.js';
import { valueSetCodes, type ValueSetCodes } from './terminology.js';
import { isJsonObject } from '../json-object.js';
import { readableInstant } from './leap-second.js';
import { narrativeProblem } from './narrative.js';
import { integerElementAt } from './integer-elements.js';
import { datatypeInvariants, failedInvariant, type DatatypeInvariant, type FailedInvariant } from './datatype-invariants.js';

export interface ValueProblems {
  /** The first MAX_ISSUES problems. */
  readonly issues: OperationOutcomeIssue[];
  /** Problems found beyond those listed. */
  readonly omitted: number;
  /** Some element has the wrong JSON shape: the structure validator must not walk this resource. */
  readonly misshapen: boolean;
  /**
   * Elements the types do not have. The structure validator reports these too,
   * so they are for a misshapen resource only, which it does not walk.
   */
  readonly unknownElements: OperationOutcomeIssue[];
}

/** R4 integer types are 32-bit signed. */
const INT32_MIN = -2_147_483_648;
const INT32_MAX = 2_147_483_647;

const DATE_PREFIX = /^(\d{4})-(\d{2})-(\d{2})/;

/** R4's own regular expressions (datatypes.html) for what the structure validator checks loosely. */
const DATE_TIME = /^([0-9]([0-9]([0-9][1-9]|[1-9]0)|[1-9]00)|[1-9]000)(-(0[1-9]|1[0-2])(-(0[1-9]|[1-2][0-9]|3[0-1])(T([01][0-9]|2[0-3]):[0-5][0-9]:([0-5][0-9]|60)(\.[0-9]+)?(Z|(\+|-)((0[0-9]|1[0-3]):[0-5][0-9]|14:00)))?)?)?$/;
const INSTANT = /^([0-9]([0-9]([0-9][1-9]|[1-9]0)|[1-9]00)|[1-9]000)-(0[1-9]|1[0-2])-(0[1-9]|[1-2][0-9]|3[0-1])T([01][0-9]|2[0-3]):[0-5][0-9]:([0-5][0-9]|60)(\.[0-9]+)?(Z|(\+|-)((0[0-9]|1[0-3]):[0-5][0-9]|14:00))$/;
const TIME = /^([01][0-9]|2[0-3]):[0-5][0-9]:([0-5][0-9]|60)(\.[0-9]+)?$/;

const FHIR_ID = '[A-Za-z0-9\\-.]{1,64}';
/** A literal reference: relative (`Type/id`, `Type/id/_history/vid`), absolute, a UUID or OID URN, or `#id` (a contained resource; `#` alone is the container). */
const RELATIVE_REFERENCE = new RegExp(`^([A-Z][A-Za-z]+)/${FHIR_ID}(/_history/${FHIR_ID})?$`);
const ABSOLUTE_REFERENCE = /^https?:\/\/[^\s/]+(\/[^\s]*)?$/;
const URN_REFERENCE = /^(urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|urn:oid:[0-2](\.(0|[1-9][0-9]*))+)$/;
const LOCAL_REFERENCE = new RegExp(`^#(${FHIR_ID})?$`);
const STRUCTURE_DEFINITION = 'http://hl7.org/fhir/StructureDefinition/';

type JsType = 'string' | 'number' | 'boolean';

/**
 * An element of a type's schema as a JSON key names it, with the one type that key carries and what the walk asks of
 * them at every value, worked out once per key rather than per value.
 */
interface KeyedElement {
  readonly element: InternalSchemaElement;
  readonly type: string;
  /** The key without the `_` of a primitive's extensions (`_birthDate` → `birthDate`). */
  readonly name: string;
  /** A choice element (`value[x]`): FHIR JSON carries one of its keys. */
  readonly choice: boolean;
  /** The JSON type of a primitive `type`; undefined for a complex one. */
  readonly jsType: JsType | undefined;
  /** The value set a required binding names, if the element has one. */
  readonly requiredValueSet: string | undefined;
  /** The datatype's own invariants to evaluate on each value (datatype-invariants.ts); empty for most types. */
  readonly invariants: readonly DatatypeInvariant[];
}

/** The problems of `resource` (anything: the caller has checked only that it is an object with a resourceType). */
export function valueProblems(resource: Record<string, unknown>): ValueProblems {
  const walk = new Walk();
  walk.resource(resource, String(resource.resourceType), 1);
  return { issues: walk.issues, omitted: walk.omitted, misshapen: walk.misshapen, unknownElements: walk.unknownElements };
}

class Walk {
  readonly issues: OperationOutcomeIssue[] = [];
  readonly unknownElements: OperationOutcomeIssue[] = [];
  omitted = 0;
  misshapen = false;
  /** The ids of the contained resources of the resource being walked (ref-1: a `#id` reference names one of them). */
  private containedIds: ReadonlySet<string> = new Set();

  resource(value: unknown, path: string, depth: number, contained = false): void {
    if (!isJsonObject(value)) return this.shape(path, 'Expected a resource (a JSON object)');
    const type = value.resourceType;
    const schema = typeof type === 'string' ? tryGetDataType(type) : undefined;
    if (!schema || schema.kind !== 'resource') return this.shape(`${path}.resourceType`, `Unknown resource type ${JSON.stringify(type)}`);
    // A contained resource's `#id` references name its container's other contained resources: the container's set stands.
    if (contained) return this.object(value, schema, path, depth);
    const outer = this.containedIds;
    this.containedIds = containedIdsOf(value);
    this.object(value, schema, path, depth);
    this.containedIds = outer;
  }

  private object(value: Record<string, unknown>, schema: InternalTypeSchema, path: string, depth: number): void {
    if (depth > MAX_JSON_DEPTH) return this.shape(path, `Nested deeper than ${MAX_JSON_DEPTH} levels`);
    const keys = Object.keys(value);
    if (keys.length === 0) return this.shape(path, 'An element cannot be an empty object');
    /** The key each choice element (`value[x]`) was given under here: FHIR JSON carries one. */
    let choices: Map<InternalSchemaElement, string> | undefined;
    for (const key of keys) {
      if (key === 'resourceType' && schema.kind === 'resource') continue;
      // `key in elements` is true of these (inherited from Object.prototype), so the structure validator lets them through.
      if (FORBIDDEN_KEYS.has(key)) {
        this.shape(`${path}.${key}`, `The key "${key}" is not allowed`);
        continue;
      }
      // A primitive's extensions (`_birthDate`) are keyed too: as an Element of the same element.
      const keyed = elementOf(schema, key);
      const at = `${path}.${key}`;
      if (!keyed) {
        // The structure validator reports the others; these it lets through unread, so they are said here.
        if (medplumLetsThrough(schema, key)) this.add(at, 'structure', `Invalid additional property "${key}"`);
        else if (this.unknownElements.length < MAX_ISSUES) this.unknownElements.push(issue(at, 'structure', `Invalid additional property "${key}"`));
        continue;
      }
      if (keyed.choice) {
        choices ??= new Map();
        const first = choices.get(keyed.element);
        if (first === undefined) choices.set(keyed.element, keyed.name);
        else if (first !== keyed.name) this.add(at, 'structure', `${first} and ${keyed.name} are two values of one element (${keyed.element.path}): give one`);
      }
      this.values(value[key], keyed, at, depth);
    }
  }

  private values(value: unknown, keyed: KeyedElement, path: string, depth: number): void {
    if (keyed.element.isArray) {
      if (!Array.isArray(value)) return this.shape(path, `Expected an array of ${keyed.type}`);
      if (value.length === 0) return this.add(path, 'structure', 'An array cannot be empty (FHIR JSON): leave the element out');
      if (depth + 1 > MAX_JSON_DEPTH) return this.shape(path, `Nested deeper than ${MAX_JSON_DEPTH} levels`);
      for (let i = 0; i < value.length; i++) this.value(value[i], keyed, `${path}[${i}]`, depth + 1);
    } else {
      if (Array.isArray(value)) return this.shape(path, `Expected a single ${keyed.type}, not an array`);
      this.value(value, keyed, path, depth);
    }
  }

  private value(value: unknown, keyed: KeyedElement, path: string, depth: number): void {
    if (value === null || value === undefined) return; // nulls: the structure validator says where they are (and are not) allowed
    const { element, type, jsType } = keyed;
    if (jsType) return this.primitive(value, jsType, keyed, path);
    if (type === 'Resource') return this.resource(value, path, depth + 1, element.path.endsWith('.contained'));
    if (!isJsonObject(value)) return this.shape(path, `Expected a ${type} (a JSON object), got a ${jsonTypeOf(value)}`);
    const schema = tryGetDataType(type);
    if (!schema) return;
    if (keyed.requiredValueSet) this.codings(value, type, keyed.requiredValueSet, path);
    if (type === 'Period') this.period(value, path);
    else if (type === 'Reference') this.reference(value, element, path);
    this.object(value, schema, path, depth + 1);
    // Evaluated while the resource's shape is right only: a misshapen one is refused for its shape, and FHIRPath
    // would read a wrong shape its own way.
    if (keyed.invariants.length && !this.misshapen) {
      const failed = failedInvariant(keyed.invariants, type, value);
      if (failed) this.invariantIssue(path, failed);
    }
  }

  /** Worded as the structure validator words an invariant it evaluates (severity error, code invariant). */
  private invariantIssue(path: string, failed: FailedInvariant): void {
    if (this.issues.length >= MAX_ISSUES) {
      this.omitted++;
      return;
    }
    const { invariant, error } = failed;
    // An expression that throws is a processing error and the invariant not met, as Medplum's validator has it.
    if (error !== undefined) this.issues.push({ severity: 'error', code: 'processing', details: { text: 'Error evaluating invariant expression' }, expression: [path], diagnostics: JSON.stringify({ fhirpath: invariant.expression, error }) });
    this.issues.push({ severity: 'error', code: 'invariant', details: { text: `Constraint ${invariant.key} not met: ${invariant.description}` }, expression: [path], diagnostics: JSON.stringify({ fhirpath: invariant.expression }) });
  }

  /** per-1: a Period does not end before it starts. Dates are compared over the instants they may mean (`2026` ends with the year). */
  private period(value: Record<string, unknown>, path: string): void {
    const { start, end } = value;
    if (typeof start !== 'string' || typeof end !== 'string') return;
    const from = instantsOf(start);
    const to = instantsOf(end);
    if (!from || !to) return; // the format is checked elsewhere
    // A date has no zone: against a zoned dateTime it may be any of the zones (±14 h); two dates compare as they are.
    const slack = from.zoned === to.zoned ? 0 : ZONE_SLACK_MS;
    if (from.earliest - slack > to.latest + slack) this.add(path, 'invariant', `per-1: the period ends (${end}) before it starts (${start})`);
  }

  private primitive(value: unknown, jsType: JsType, keyed: KeyedElement, path: string): void {
    const { type } = keyed;
    if (typeof value !== jsType) {
      // Said here rather than by the structure validator: it would walk an object as an element, and a
      // hundred thousand wrong values are counted here without building an issue for each.
      this.shape(path, `Expected a ${type} (a JSON ${jsType}), got a ${jsonTypeOf(value)}`);
      return;
    }
    if (typeof value === 'string') {
      if (value === '') return this.add(path, 'value', `A ${type} cannot be an empty string (FHIR JSON): leave the element out`);
      if (type === 'dateTime' && !DATE_TIME.test(value)) return this.add(path, 'value', `${JSON.stringify(value.slice(0, 40))} is not a dateTime (YYYY, YYYY-MM, YYYY-MM-DD or YYYY-MM-DDThh:mm:ss with a time zone)`);
      if (type === 'instant' && !INSTANT.test(value)) return this.add(path, 'value', `${JSON.stringify(value.slice(0, 40))} is not an instant (YYYY-MM-DDThh:mm:ss with a time zone)`);
      if (type === 'time' && !TIME.test(value)) return this.add(path, 'value', `${JSON.stringify(value.slice(0, 40))} is not a time (hh:mm:ss)`);
      if (type === 'date' || type === 'dateTime' || type === 'instant') this.calendarDate(value, path);
      else if (type === 'xhtml') {
        const problem = narrativeProblem(value);
        if (problem) this.add(path, 'invariant', problem);
      }
      else if (type === 'code' && keyed.requiredValueSet) {
        const codes = valueSetCodes(keyed.requiredValueSet);
        if (codes && !anyCodeOf(codes).has(value)) this.notInValueSet(path, value, keyed.requiredValueSet, codes);
      }
    } else if (typeof value === 'number' && Number.isInteger(value) && (type === 'integer' || type === 'positiveInt' || type === 'unsignedInt')) {
      if (value < INT32_MIN || value > INT32_MAX) this.add(path, 'value', `${type} must be a 32-bit integer (between ${INT32_MIN} and ${INT32_MAX})`);
    }
  }

  /** Codings of the bound value set's systems must carry one of its codes (codings of other systems are not judged). */
  private codings(value: Record<string, unknown>, type: string, valueSet: string, path: string): void {
    const codings = type === 'Coding' ? [[path, value] as const] : type === 'CodeableConcept' && Array.isArray(value.coding) ? value.coding.map((c, i) => [`${path}.coding[${i}]`, c] as const) : [];
    if (codings.length === 0) return;
    const codes = valueSetCodes(valueSet);
    if (!codes) return;
    for (const [at, coding] of codings) {
      if (!isJsonObject(coding) || typeof coding.system !== 'string' || typeof coding.code !== 'string') continue;
      const allowed = codes.get(coding.system);
      if (allowed && !allowed.has(coding.code)) this.notInValueSet(`${at}.code`, coding.code, valueSet, codes);
    }
  }

  /** A literal reference's form (and ref-1), and its type against the types the element may refer to. */
  private reference(value: Record<string, unknown>, element: InternalSchemaElement, path: string): void {
    const { reference, type } = value;
    if (typeof reference !== 'string' || reference === '') return; // the primitive check says what is wrong with it
    const at = `${path}.reference`;
    if (reference.startsWith('#')) {
      const id = LOCAL_REFERENCE.exec(reference)?.[1];
      if (!LOCAL_REFERENCE.test(reference)) this.add(at, 'value', `${JSON.stringify(reference.slice(0, 80))} is not a reference to a contained resource (#id)`);
      else if (id !== undefined && !this.containedIds.has(id)) this.add(at, 'invariant', `${reference} names no contained resource of this resource (ref-1)`);
      return;
    }
    const relative = RELATIVE_REFERENCE.exec(reference);
    if (!relative && !ABSOLUTE_REFERENCE.test(reference) && !URN_REFERENCE.test(reference)) {
      this.add(at, 'value', `${JSON.stringify(reference.slice(0, 80))} is not a reference: Type/id, an absolute URL, urn:uuid:, urn:oid: or #id`);
      return;
    }
    const referred = relative?.[1];
    if (referred === undefined) return;
    if (tryGetDataType(referred)?.kind !== 'resource') return this.add(at, 'value', `${referred} is not a resource type`);
    const targets = referenceTargets(element);
    if (targets && !targets.has(referred)) this.add(at, 'value', `${element.path} refers to ${[...targets].join(' or ')}, not ${referred}`);
    if (typeof type === 'string' && type !== referred && type !== `${STRUCTURE_DEFINITION}${referred}`) this.add(`${path}.type`, 'value', `Reference.type ${type.slice(0, 80)} is not the type of ${reference.slice(0, 80)}`);
  }

  private calendarDate(value: string, path: string): void {
    const m = DATE_PREFIX.exec(value);
    if (!m) return; // the structure validator checks the format
    const [year, month, day] = [Number(m[1]), Number(m[2]), Number(m[3])];
    if (month >= 1 && month <= 12 && day > daysInMonth(year, month)) {
      this.add(path, 'value', `${value.slice(0, 10)} is not a date: ${monthName(month)} ${year} has ${daysInMonth(year, month)} days`);
    }
  }

  private notInValueSet(path: string, code: string, valueSet: string, codes: ValueSetCodes): void {
    const all = [...new Set([...codes.values()].flatMap((s) => [...s]))];
    const listed = all.length <= 12 ? ` (one of: ${all.join(', ')})` : '';
    this.add(path, 'code-invalid', `${JSON.stringify(code)} is not a code of the required value set ${valueSet.split('|')[0]}${listed}`);
  }

  private shape(path: string, text: string): void {
    this.misshapen = true;
    this.add(path, 'structure', text);
  }

  private add(path: string, code: IssueCode, text: string): void {
    if (this.issues.length >= MAX_ISSUES) {
      this.omitted++;
      return;
    }
    this.issues.push(issue(path, code, text));
  }
}

/**
 * Numbers JSON.parse read as integers though not written as one (`2.0`, `1e2`, `-0`: input-guard.ts's
 * NumberSpelling, `integral`), judged by the element each is the value of: an R4 integer type is spelt as an integer
 * (`-?([0]|([1-9][0-9]*))`, and `-0` is no unsignedInt or positiveInt); a decimal may be spelt any way JSON allows.
 * `paths` are where the numbers are in `body` (keys and array indexes from the root); a body that is no resource is
 * not judged here (its route reads it as it reads it). The elements are looked up in a precomputed table
 * (integer-elements.ts), not the R4 definitions: this runs on the main thread of a service that validates on workers.
 */
export function integralSpellingIssues(body: unknown, numbers: readonly { readonly path: readonly (string | number)[]; readonly text: string }[]): OperationOutcomeIssue[] {
  const issues: OperationOutcomeIssue[] = [];
  for (const { path, text } of numbers) {
    const element = integerElementAt(body, path);
    if (!element) continue;
    if (text === '-0' && element.type === 'integer') continue; // R4's integer pattern allows -0
    issues.push(issue(element.fhirPath, 'value', `${text.slice(0, 40)} is not a ${element.type}: FHIR JSON writes an integer without a fraction, exponent or minus zero (${element.type === 'integer' ? '2, not 2.0 or 2e0' : '2, not 2.0, 2e0 or -0'})`));
    if (issues.length >= MAX_ISSUES) break;
  }
  return issues;
}

/**
 * A key no element of `schema` has that Medplum's structure validator still takes for one, so never reads nor
 * reports: its check is `key in elements` (or `_key`), which is true of Object.prototype's names (`toString`,
 * `valueOf`, `_constructor`…) and of a choice element's literal name (`deceased[x]`); and it skips `resourceType`
 * in every object, a datatype's too.
 */
function medplumLetsThrough(schema: InternalTypeSchema, key: string): boolean {
  return key === 'resourceType' || key in schema.elements || (key.startsWith('_') && key.slice(1) in schema.elements);
}

function issue(path: string, code: IssueCode, text: string): OperationOutcomeIssue {
  return { severity: 'error', code, details: { text }, expression: [path] };
}

/**
 * Per type schema: each JSON key it allows (choice elements once per type: `valueString`, `valueInteger`…), and
 * each with `_` for a primitive's extensions, which are walked as an Element.
 */
const keyedElements = new WeakMap<InternalTypeSchema, Map<string, KeyedElement>>();

function elementOf(schema: InternalTypeSchema, key: string): KeyedElement | undefined {
  let keyed = keyedElements.get(schema);
  if (!keyed) {
    keyed = new Map();
    const add = (name: string, element: InternalSchemaElement, type: string) => {
      const binding = element.binding?.strength === 'required' && element.binding.valueSet ? element.binding.valueSet : undefined;
      const choice = element.path.endsWith('[x]');
      const jsType = primitiveJsType(type);
      keyed!.set(name, { element, type, name, choice, jsType, requiredValueSet: binding, invariants: jsType ? [] : datatypeInvariants(element, type) });
      keyed!.set(`_${name}`, { element, type: 'Element', name, choice, jsType: undefined, requiredValueSet: binding, invariants: [] });
    };
    for (const [name, element] of Object.entries(schema.elements)) {
      if (name.endsWith('[x]')) {
        for (const t of element.type) add(`${name.slice(0, -3)}${capitalize(t.code)}`, element, t.code);
      } else if (element.type[0]) {
        add(name, element, element.type[0].code);
      }
    }
    keyedElements.set(schema, keyed);
  }
  return keyed.get(key);
}

/** Every code of a value set, whatever its system (a bare `code` carries none), worked out once per value set. */
const codesOfAnySystem = new WeakMap<ValueSetCodes, ReadonlySet<string>>();

function anyCodeOf(codes: ValueSetCodes): ReadonlySet<string> {
  let all = codesOfAnySystem.get(codes);
  if (!all) {
    all = new Set([...codes.values()].flatMap((set) => [...set]));
    codesOfAnySystem.set(codes, all);
  }
  return all;
}

function primitiveJsType(type: string): JsType | undefined {
  return (fhirTypeToJsType as Record<string, JsType>)[type];
}

function jsonTypeOf(value: unknown): string {
  if (Array.isArray(value)) return 'JSON array';
  if (value === null) return 'null';
  return typeof value === 'object' ? 'JSON object' : `JSON ${typeof value}`;
}

/** The widest offset a time zone has from UTC. */
const ZONE_SLACK_MS = 14 * 3_600_000;
const PARTIAL_DATE = /^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?$/;

/** The first and last millisecond a FHIR date (`2026`, `2026-06`, `2026-06-01`, read as UTC) or zoned dateTime may mean; undefined for anything else. */
function instantsOf(value: string): { earliest: number; latest: number; zoned: boolean } | undefined {
  const m = PARTIAL_DATE.exec(value);
  if (m) {
    const year = Number(m[1]);
    const month = m[2] === undefined ? undefined : Number(m[2]) - 1;
    const day = m[3] === undefined ? undefined : Number(m[3]);
    if (month !== undefined && (month < 0 || month > 11 || (day !== undefined && (day < 1 || day > daysInMonth(year, month + 1))))) return undefined; // no such day: said by calendarDate
    const earliest = Date.UTC(year, month ?? 0, day ?? 1);
    const next = day !== undefined ? Date.UTC(year, month ?? 0, day + 1) : month !== undefined ? Date.UTC(year, month + 1, 1) : Date.UTC(year + 1, 0, 1);
    return { earliest, latest: next - 1, zoned: false };
  }
  // A leap second is read as the last millisecond of its minute, as every date reader of the hub reads it (leap-second.ts).
  const t = Date.parse(readableInstant(value));
  return Number.isNaN(t) ? undefined : { earliest: t, latest: t, zoned: true };
}

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
const MONTH_NAMES = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];

/** Days in `month` (1-12) of `year`, Gregorian leap years (29 February 2000, not 1900). */
export function daysInMonth(year: number, month: number): number {
  const leap = (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
  return month === 2 && leap ? 29 : DAYS_IN_MONTH[month - 1]!;
}

function monthName(month: number): string {
  return MONTH_NAMES[month - 1]!;
}

/** The ids of a resource's contained resources. */
function containedIdsOf(resource: Record<string, unknown>): ReadonlySet<string> {
  const contained = resource.contained;
  if (!Array.isArray(contained)) return new Set();
  return new Set(contained.flatMap((r: unknown) => (isJsonObject(r) && typeof r.id === 'string' ? [r.id] : [])));
}

/** The resource types a Reference element may name (undefined: any, e.g. `Reference(Any)` or a profile not of a base type). */
const targetsOfElement = new WeakMap<InternalSchemaElement, ReadonlySet<string> | null>();

function referenceTargets(element: InternalSchemaElement): ReadonlySet<string> | undefined {
  let targets = targetsOfElement.get(element);
  if (targets === undefined) {
    const profiles = element.type.filter((t) => t.code === 'Reference').flatMap((t) => t.targetProfile ?? []);
    const names = profiles.map((p) => (p.startsWith(STRUCTURE_DEFINITION) ? p.slice(STRUCTURE_DEFINITION.length) : undefined));
    targets = profiles.length === 0 || names.some((n) => n === undefined || n === 'Resource') ? null : new Set(names as string[]);
    targetsOfElement.set(element, targets);
  }
  return targets ?? undefined;
}
