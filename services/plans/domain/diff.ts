/**
 * What changed between two versions of a resource (`$diff`): each changed
 * element as a FHIRPath-style path (`CarePlan.activity[1].detail.status`) with
 * its value before and after. Arrays are compared position by position (an
 * element added at the end is `add`, one dropped `delete`). The version's own
 * bookkeeping (`meta.versionId`, `meta.lastUpdated`) is not a change. Pure.
 */
import type { Parameters, ParametersParameter } from 'fhir/r4.js';

export type ChangeType = 'add' | 'delete' | 'replace';

export interface Change {
  readonly type: ChangeType;
  readonly path: string;
  /** The value in the earlier version (absent for `add`). */
  readonly previousValue?: unknown;
  /** The value in the later version (absent for `delete`). */
  readonly value?: unknown;
}

type Json = null | boolean | number | string | readonly Json[] | { readonly [key: string]: Json };

/** Every change from `from` to `to`, in document order. */
export function diffResources(from: object, to: object): Change[] {
  const type = (to as { resourceType?: string }).resourceType ?? (from as { resourceType?: string }).resourceType ?? 'Resource';
  const changes: Change[] = [];
  diffValue(withoutBookkeeping(from), withoutBookkeeping(to), type, changes);
  return changes;
}

function withoutBookkeeping(resource: object): Json {
  const { meta, ...rest } = resource as { meta?: Record<string, unknown> };
  if (!meta) return rest;
  const { versionId: _v, lastUpdated: _l, ...metaRest } = meta;
  return (Object.keys(metaRest).length > 0 ? { ...rest, meta: metaRest } : rest) as Json;
}

function diffValue(a: Json | undefined, b: Json | undefined, path: string, out: Change[]): void {
  if (a === undefined && b === undefined) return;
  if (a === undefined) {
    out.push({ type: 'add', path, value: b });
    return;
  }
  if (b === undefined) {
    out.push({ type: 'delete', path, previousValue: a });
    return;
  }
  if (Array.isArray(a) && Array.isArray(b)) {
    for (let i = 0; i < Math.max(a.length, b.length); i += 1) diffValue(a[i] as Json | undefined, b[i] as Json | undefined, `${path}[${i}]`, out);
    return;
  }
  if (isObject(a) && isObject(b)) {
    const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])];
    for (const key of keys) diffValue(a[key], b[key], `${path}.${key}`, out);
    return;
  }
  if (!sameJson(a, b)) out.push({ type: 'replace', path, previousValue: a, value: b });
}

function isObject(value: Json): value is { readonly [key: string]: Json } {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function sameJson(a: Json, b: Json): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/**
 * The changes as FHIR Parameters, in the shape of FHIRPath Patch (and HAPI
 * FHIR's `$diff`): one `operation` per change with parts `type`, `path`,
 * `previousValue`, `value`. A primitive value keeps its type (valueString,
 * valueBoolean, valueDecimal); an object or array is its JSON text in valueString.
 */
export function diffParameters(from: string, to: string, changes: readonly Change[]): Parameters {
  return {
    resourceType: 'Parameters',
    parameter: [
      { name: 'from', valueString: from },
      { name: 'to', valueString: to },
      ...changes.map(
        (c): ParametersParameter => ({
          name: 'operation',
          part: [
            { name: 'type', valueCode: c.type },
            { name: 'path', valueString: c.path },
            ...('previousValue' in c ? [valuePart('previousValue', c.previousValue)] : []),
            ...('value' in c ? [valuePart('value', c.value)] : []),
          ],
        }),
      ),
    ],
  };
}

function valuePart(name: string, value: unknown): ParametersParameter {
  if (typeof value === 'string') return { name, valueString: value };
  if (typeof value === 'boolean') return { name, valueBoolean: value };
  if (typeof value === 'number') return { name, valueDecimal: value };
  return { name, valueString: JSON.stringify(value) };
}
