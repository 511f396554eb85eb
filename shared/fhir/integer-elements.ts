/**
 * Where R4 wants an integer type (`integer`, `positiveInt`, `unsignedInt`), found without the R4 definitions: a
 * precomputed table of the keys that lead to one (integer-elements.data.ts, generated from the definitions by
 * `integerElementTableText`; a test fails when the two disagree). The body parser judges integral spellings (`2.0`
 * where an integer is wanted: value-checks.ts) on every service's main thread; looking the elements up in the
 * definitions loaded them there (~0.7 s, ~150 MB) in a process that otherwise validates on worker threads (alerts).
 *
 * The table lists, per type (data types, resources and their backbone elements as Medplum names them: `TimingRepeat`),
 * the keys whose type is an integer type, a resource (`contained`, `entry.resource`), or a type that holds one of
 * these itself. `extension` and `modifierExtension` are Extension everywhere and `_x` (a primitive's extensions) an
 * Element, so they are not listed; a key not listed holds no integer element except through those.
 */
import { capitalize, type InternalTypeSchema } from '@medplum/core';
import { isJsonObject } from '../json-object.js';
import { INTEGER_ELEMENT_TABLE } from './integer-elements.data.js';

/** R4's integer types. */
export const INTEGER_TYPES: ReadonlySet<string> = new Set(['integer', 'positiveInt', 'unsignedInt']);

/** A key of the table: the type of its value (`Resource` for any resource). */
type Table = ReadonlyMap<string, ReadonlyMap<string, string>>;

const EXTENSION_KEYS: ReadonlySet<string> = new Set(['extension', 'modifierExtension']);

/**
 * The table's text from Medplum's indexed schemas (`getAllDataTypes()` once the R4 bundles are indexed): one line per
 * type, `Type=key:KeyType,key:KeyType`. Used by the test that keeps integer-elements.data.ts true.
 */
export function integerElementTableText(schemas: Readonly<Record<string, InternalTypeSchema>>): string {
  const keysOf = new Map<string, [string, string][]>();
  for (const [name, schema] of Object.entries(schemas)) {
    const keys: [string, string][] = [];
    for (const [element, definition] of Object.entries(schema.elements)) {
      if (EXTENSION_KEYS.has(element)) continue;
      if (element.endsWith('[x]')) for (const t of definition.type) keys.push([`${element.slice(0, -3)}${capitalize(t.code)}`, t.code]);
      else if (definition.type[0]) keys.push([element, definition.type[0].code]);
    }
    keysOf.set(name, keys);
  }
  // Types that hold an integer element or a resource, directly or through a key of such a type (to a fixed point).
  const holding = new Set<string>();
  for (let grew = true; grew; ) {
    grew = false;
    for (const [name, keys] of keysOf) {
      if (holding.has(name)) continue;
      if (keys.some(([, t]) => INTEGER_TYPES.has(t) || t === 'Resource' || holding.has(t))) {
        holding.add(name);
        grew = true;
      }
    }
  }
  const lines: string[] = [];
  for (const [name, keys] of [...keysOf].sort(([a], [b]) => (a < b ? -1 : 1))) {
    if (!holding.has(name)) continue;
    const listed = keys.filter(([, t]) => INTEGER_TYPES.has(t) || t === 'Resource' || holding.has(t));
    lines.push(`${name}=${listed.map(([k, t]) => `${k}:${t}`).join(',')}`);
  }
  return lines.join('\n');
}

let table: Table | undefined;

function loadedTable(): Table {
  if (table) return table;
  const loaded = new Map<string, Map<string, string>>();
  for (const line of INTEGER_ELEMENT_TABLE.split('\n')) {
    const eq = line.indexOf('=');
    const keys = new Map<string, string>();
    for (const pair of line.slice(eq + 1).split(',')) {
      const colon = pair.indexOf(':');
      if (colon > 0) keys.set(pair.slice(0, colon), pair.slice(colon + 1));
    }
    loaded.set(line.slice(0, eq), keys);
  }
  table = loaded;
  return table;
}

/** The type of a value whose key is listed nowhere: it holds no integer element except through extensions. */
const UNLISTED = '';

/**
 * The integer type of the element a path of keys and indexes reaches in a resource, with the path as FHIRPath;
 * undefined when it reaches no element of an integer type (a decimal, an unknown key, a body that is no resource).
 */
export function integerElementAt(resource: unknown, path: readonly (string | number)[]): { type: string; fhirPath: string } | undefined {
  if (!isJsonObject(resource) || typeof resource.resourceType !== 'string') return undefined;
  const elements = loadedTable();
  let value: unknown = resource;
  let type: string = resource.resourceType;
  let fhirPath = resource.resourceType;
  for (const step of path) {
    if (typeof step === 'number') {
      if (!Array.isArray(value)) return undefined;
      value = value[step];
      fhirPath += `[${step}]`;
      continue;
    }
    if (!isJsonObject(value) || !Object.hasOwn(value, step)) return undefined;
    if (type === 'Resource') {
      // A resource in a resource (contained, a Bundle entry's, a Parameters parameter's): its own type names its keys.
      if (typeof value.resourceType !== 'string') return undefined;
      type = value.resourceType;
    }
    type = EXTENSION_KEYS.has(step) ? 'Extension' : step.startsWith('_') ? 'Element' : (elements.get(type)?.get(step) ?? UNLISTED);
    value = value[step];
    fhirPath += `.${step}`;
  }
  return INTEGER_TYPES.has(type) ? { type, fhirPath } : undefined;
}
