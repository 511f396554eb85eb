/**
 * Structural mutations of a FHIR body for the validation tests that compare verdicts (pinned verdicts, the structure
 * fast path against Medplum): at a node chosen by `where`, set a value, delete it, add a key, wrap it in an array,
 * unwrap an array, rename a key, or nest the value under a new key. Keys are set as own properties, even `__proto__`,
 * as JSON.parse would make them. Not used by the services.
 */

export interface StructureMutation {
  /** 0 set, 1 delete, 2 add a key, 3 wrap in an array, 4 unwrap, 5 rename, anything else nest. */
  readonly op: number;
  /** Which node (modulo how many the body has, the root included). */
  readonly where: number;
  readonly value: unknown;
  readonly key: string;
}

type Path = (string | number)[];

function pathsOf(v: unknown, here: Path = []): Path[] {
  const all = [here];
  if (v !== null && typeof v === 'object') for (const k of Object.keys(v)) all.push(...pathsOf((v as Record<string, unknown>)[k], [...here, Array.isArray(v) ? Number(k) : k]));
  return all;
}

function at(v: unknown, path: Path): unknown {
  return path.reduce<unknown>((o, k) => (o !== null && typeof o === 'object' ? (o as Record<string | number, unknown>)[k] : undefined), v);
}

/** Sets `key` as an own property, even `__proto__` (as JSON.parse would make it). */
function define(o: object, k: string | number, v: unknown): void {
  Object.defineProperty(o, k, { value: v, enumerable: true, writable: true, configurable: true });
}

/**
 * A copy of `seed` with each mutation applied in turn. `copyValues`: each mutation's value is copied first —
 * fast-check's constants are shared objects, which a later mutation would otherwise change for every run (the pinned
 * verdicts were recorded without the copy, so they keep it off).
 */
export function mutated(seed: unknown, mutations: readonly StructureMutation[], { copyValues = true } = {}): unknown {
  const body = JSON.parse(JSON.stringify(seed)) as unknown;
  for (const generated of mutations) {
    const m = copyValues ? { ...generated, value: structuredClone(generated.value) } : generated;
    const paths = pathsOf(body);
    const path = paths[m.where % paths.length]!;
    const parent = path.length ? at(body, path.slice(0, -1)) : undefined;
    const last = path[path.length - 1]!;
    const target = at(body, path);
    if (parent === null || typeof parent !== 'object') {
      if (m.op === 2 && target !== null && typeof target === 'object' && !Array.isArray(target)) define(target, m.key, m.value);
      continue;
    }
    const p = parent as Record<string | number, unknown>;
    if (m.op === 0) define(p, last, m.value);
    else if (m.op === 1 && Array.isArray(p)) p.splice(Number(last), 1);
    else if (m.op === 1) delete p[last];
    else if (m.op === 2 && target !== null && typeof target === 'object' && !Array.isArray(target)) define(target, m.key, m.value);
    else if (m.op === 3) define(p, last, [target]);
    else if (m.op === 4 && Array.isArray(target) && target.length) define(p, last, target[0]);
    else if (m.op === 5 && !Array.isArray(p)) {
      delete p[last];
      define(p, m.key, target);
    } else define(p, last, { [m.key]: m.value });
  }
  return body;
}
