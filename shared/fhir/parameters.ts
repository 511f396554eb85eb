/**
 * The one reader of FHIR `Parameters` for every operation (`$match`,
 * `$resolve`, `$merge`, `$unlink`, `$sign`…). An operation declares its
 * parameters once — name, kind of value, required or not, allowed codes —
 * and reads a Parameters resource (already valid R4: request-body.ts) against
 * that declaration. Every problem names its parameter by FHIRPath:
 *
 *   400  a parameter the operation does not have, a value of the wrong kind
 *        (`note` as a valueInteger), a parameter given twice (two decisions),
 *        a required one missing
 *   422  a value of the right kind the operation cannot accept (a code not in
 *        its list, a count below its minimum, a resource of another type)
 */
import type { Parameters, ParametersParameter, Resource } from 'fhir/r4.js';
import { badRequest, invalidResource } from './outcome.js';

export type ParameterKind = 'string' | 'code' | 'boolean' | 'integer' | 'reference' | 'resource';

export interface ParameterDeclaration {
  readonly kind: ParameterKind;
  readonly required?: boolean;
  /** `code`: the codes accepted. */
  readonly codes?: readonly string[];
  /** `integer`: the smallest value accepted. */
  readonly min?: number;
  /** `resource`: the resource type accepted. */
  readonly resourceType?: Resource['resourceType'];
}

export interface OperationDeclaration {
  /** `$match`, `$resolve`… (for messages). */
  readonly name: string;
  readonly parameters: Readonly<Record<string, ParameterDeclaration>>;
}

type ValueOf<D extends ParameterDeclaration> = D['kind'] extends 'boolean'
  ? boolean
  : D['kind'] extends 'integer'
    ? number
    : D['kind'] extends 'resource'
      ? Resource
      : D['kind'] extends 'code'
        ? D['codes'] extends readonly (infer C)[]
          ? C
          : string
        : string;

/** What an operation reads: required parameters always there, the others when given. */
export type OperationArguments<O extends OperationDeclaration> = {
  readonly [N in keyof O['parameters'] as O['parameters'][N] extends { required: true } ? N : never]: ValueOf<O['parameters'][N]>;
} & {
  readonly [N in keyof O['parameters'] as O['parameters'][N] extends { required: true } ? never : N]?: ValueOf<O['parameters'][N]>;
};

/** The `value[x]` (or `resource`) elements each kind accepts, in order of preference. */
const VALUE_ELEMENTS: Readonly<Record<ParameterKind, readonly (keyof ParametersParameter)[]>> = {
  string: ['valueString'],
  code: ['valueCode', 'valueString'],
  boolean: ['valueBoolean'],
  integer: ['valueInteger', 'valuePositiveInt', 'valueUnsignedInt'],
  reference: ['valueReference', 'valueString'],
  resource: ['resource'],
};

/** Elements of a parameter that are not its value. */
const NOT_VALUE = new Set(['name', 'id', 'extension', 'modifierExtension']);

/** Reads `params` as `operation` declares them (see the module comment for what is refused, and how). */
export function readParameters<O extends OperationDeclaration>(operation: O, params: Parameters): OperationArguments<O> {
  const args: Record<string, unknown> = {};
  const seen = new Map<string, number>();
  (params.parameter ?? []).forEach((p, i) => {
    const at = `Parameters.parameter[${i}]`;
    // Own properties only: a parameter named `constructor` must not find Object.prototype's.
    const declared = Object.hasOwn(operation.parameters, p.name) ? operation.parameters[p.name] : undefined;
    if (!declared) {
      const known = Object.keys(operation.parameters).join(', ') || 'none';
      throw badRequest(`${operation.name} has no parameter '${p.name}' (its parameters: ${known})`, `${at}.name`);
    }
    const earlier = seen.get(p.name);
    if (earlier !== undefined) {
      throw badRequest(`Parameter '${p.name}' is given more than once (also Parameters.parameter[${earlier}]); give it once`, at);
    }
    seen.set(p.name, i);
    args[p.name] = valueOf(p, declared, at, operation.name);
  });
  for (const [name, declared] of Object.entries(operation.parameters)) {
    if (declared.required && !seen.has(name)) {
      throw badRequest(`${operation.name} needs parameter '${name}' (${describe(declared)})`, `Parameters.parameter.where(name='${name}')`);
    }
  }
  return args as OperationArguments<O>;
}

function valueOf(p: ParametersParameter, declared: ParameterDeclaration, at: string, operation: string): unknown {
  const given = Object.keys(p).filter((k) => !NOT_VALUE.has(k));
  const accepted = VALUE_ELEMENTS[declared.kind];
  const element = given.length === 1 ? accepted.find((e) => e === given[0]) : undefined;
  if (!element) {
    throw badRequest(`Parameter '${p.name}' of ${operation} takes ${describe(declared)} (got ${given.join(', ') || 'no value'})`, at);
  }
  const raw = p[element];
  switch (declared.kind) {
    case 'reference': {
      const reference = element === 'valueReference' ? (raw as { reference?: string }).reference : raw;
      if (typeof reference !== 'string') throw badRequest(`Parameter '${p.name}' must give a reference (Type/id)`, `${at}.${element}`);
      return reference;
    }
    case 'code':
      if (declared.codes && !declared.codes.includes(raw as string)) {
        throw invalidResource(`Parameter '${p.name}' must be one of: ${declared.codes.join(', ')}`, `${at}.${element}`);
      }
      return raw;
    case 'integer':
      if (declared.min !== undefined && (raw as number) < declared.min) {
        throw invalidResource(`Parameter '${p.name}' must be at least ${declared.min}`, `${at}.${element}`);
      }
      return raw;
    case 'resource':
      if (declared.resourceType && (raw as Resource).resourceType !== declared.resourceType) {
        throw invalidResource(`Parameter '${p.name}' must be a ${declared.resourceType} resource`, `${at}.resource.resourceType`);
      }
      return raw;
    case 'string':
    case 'boolean':
      return raw;
  }
}

function describe(declared: ParameterDeclaration): string {
  const elements = VALUE_ELEMENTS[declared.kind].join(' or ');
  if (declared.kind === 'resource') return `a ${declared.resourceType ?? 'resource'} in resource`;
  if (declared.kind === 'code' && declared.codes) return `${elements}: ${declared.codes.join(' | ')}`;
  return elements;
}

/** Parameter values a query string can carry, and how each is written there (FHIR search syntax). */
const QUERY_VALUE: Readonly<Record<string, (value: unknown) => string | undefined>> = {
  valueString: textOf,
  valueCode: textOf,
  valueId: textOf,
  valueUri: textOf,
  valueUrl: textOf,
  valueCanonical: textOf,
  valueDate: textOf,
  valueDateTime: textOf,
  valueInstant: textOf,
  valueBoolean: (v) => (typeof v === 'boolean' ? String(v) : undefined),
  valueInteger: (v) => (typeof v === 'number' && Number.isInteger(v) ? String(v) : undefined),
  valuePositiveInt: (v) => (typeof v === 'number' && Number.isInteger(v) ? String(v) : undefined),
  valueUnsignedInt: (v) => (typeof v === 'number' && Number.isInteger(v) ? String(v) : undefined),
  valueDecimal: (v) => (typeof v === 'number' ? String(v) : undefined),
  // Tokens as `system|value`, references by their reference: what the same parameter is in a GET.
  valueIdentifier: (v) => tokenOf(v, 'value'),
  valueCoding: (v) => tokenOf(v, 'code'),
  valueReference: (v) => textOf((v as { reference?: unknown } | null)?.reference),
};

function textOf(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

function tokenOf(value: unknown, codeKey: 'value' | 'code'): string | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const { system } = value as { system?: unknown };
  const code = (value as Record<string, unknown>)[codeKey];
  if (typeof code !== 'string' || (system !== undefined && typeof system !== 'string')) return undefined;
  return system === undefined ? code : `${system}|${code}`;
}

/**
 * An operation that only reads (served by GET) invoked by POST with a `Parameters` body, as FHIR R4 allows
 * every operation to be and clients do by default (fhir-kit-client's `operation()`, HAPI's generic client):
 * the body's parameters as the query string of the same GET. A parameter whose value a URL cannot carry (a
 * resource, `part`s) or that is not a parameter at all is a 400 naming it.
 */
export function parametersAsQuery(body: unknown, operation: string): URLSearchParams {
  const query = new URLSearchParams();
  if (body === undefined) return query;
  if (typeof body !== 'object' || body === null || (body as { resourceType?: unknown }).resourceType !== 'Parameters') {
    throw badRequest(`POST ${operation} takes its parameters as a Parameters resource (or in the URL, as its GET does)`);
  }
  const parameters = (body as { parameter?: unknown }).parameter ?? [];
  if (!Array.isArray(parameters)) throw badRequest('Parameters.parameter must be an array', 'Parameters.parameter');
  parameters.forEach((p: unknown, i) => {
    const where = `Parameters.parameter[${i}]`;
    const { name, ...rest } = (typeof p === 'object' && p !== null ? p : {}) as Record<string, unknown>;
    const keys = Object.keys(rest).filter((k) => k !== 'id' && k !== 'extension');
    const key = keys[0];
    const value = key !== undefined && keys.length === 1 ? QUERY_VALUE[key]?.(rest[key]) : undefined;
    if (typeof name !== 'string' || name === '' || value === undefined) {
      throw badRequest(`${where} must have a name and one simple value (string, code, boolean, number, date, Identifier, Coding or Reference) for ${operation}, which reads its parameters as a GET does`, where);
    }
    query.append(name, value);
  });
  return query;
}
