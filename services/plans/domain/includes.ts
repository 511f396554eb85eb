/**
 * `_include` / `_revinclude` on plans searches: which ones the service serves,
 * read from the query (anything else is a 400 naming it, never silently left out).
 * Pure. The service keeps CarePlans, assessments (QuestionnaireResponse) and
 * requests for assistance (ServiceRequest), so the includes are the links between
 * them:
 *
 * | search | `_include` | `_revinclude` |
 * |---|---|---|
 * | CarePlan | `CarePlan:activity-reference` (the requests its activities point to) | `ServiceRequest:based-on`, `QuestionnaireResponse:based-on` |
 * | ServiceRequest | `ServiceRequest:based-on` (the plan or request it carries out) | `ServiceRequest:based-on`, `QuestionnaireResponse:based-on`, `CarePlan:activity-reference` |
 * | QuestionnaireResponse | `QuestionnaireResponse:based-on` (the plan or request it assesses for) | — |
 *
 * An optional target type narrows an include (`ServiceRequest:based-on:CarePlan`).
 * Refused with 400: the subject or patient (a Patient of the MPI, port 4001 — read it
 * there), types this service does not keep (Provenance, Consent…), `*`, and the
 * `:iterate` / `:recurse` modifiers. Every included resource goes through the same
 * access check as a match; totals count matches only (FHIR).
 */
import type { CarePlan, Observation, QuestionnaireResponse, Reference, ServiceRequest } from 'fhir/r4.js';
import { badRequest } from '../../../shared/fhir/outcome.js';
import { UnservedSearchParameterError } from '../../../shared/fhir/unserved-search-parameter.js';
import { PLANS_TYPES, type PlansType } from './access.js';

export const INCLUDE_PARAMS = ['_include', '_revinclude'] as const;
export type IncludeParam = (typeof INCLUDE_PARAMS)[number];

/** The reference search parameters includes follow. */
export type LinkParam = 'activity-reference' | 'based-on';

export interface IncludeSpec {
  readonly kind: IncludeParam;
  /** The type whose reference is followed (the searched type for `_include`, the referring type for `_revinclude`). */
  readonly source: PlansType;
  readonly param: LinkParam;
  /** The types the reference may point to (narrowed by an explicit target). */
  readonly targets: readonly PlansType[];
}

/** What each type's link parameter may point to. */
const LINKS: Readonly<Record<PlansType, Partial<Record<LinkParam, readonly PlansType[]>>>> = {
  CarePlan: { 'activity-reference': ['ServiceRequest'] },
  ServiceRequest: { 'based-on': ['CarePlan', 'ServiceRequest'] },
  QuestionnaireResponse: { 'based-on': ['CarePlan', 'ServiceRequest'] },
  Observation: {},
};

const SUBJECT_PARAMS = new Set(['subject', 'patient']);

/** The includes asked for on a search of `type`, and the query without them (for the store's search). */
export function includesOf(type: PlansType, query: URLSearchParams): { query: URLSearchParams; includes: IncludeSpec[] } {
  const includes: IncludeSpec[] = [];
  const rest = new URLSearchParams();
  for (const [name, value] of query) {
    const [base, ...modifiers] = name.split(':');
    if (!(INCLUDE_PARAMS as readonly string[]).includes(base!)) {
      rest.append(name, value);
      continue;
    }
    const kind = base as IncludeParam;
    // A type this service follows no link of, in that direction, does not serve the parameter at all (lenient handling drops it).
    if (supportedFor(type, kind).length === 0) {
      throw new UnservedSearchParameterError(name, `'${kind}' is not supported on ${type} search here: this service follows no reference ${kind === '_include' ? 'from' : 'to'} a ${type} (Prefer: handling=lenient has it ignored)`);
    }
    if (modifiers.length > 0) throw badRequest(`${name}: the :iterate and :recurse modifiers are not supported here; name each include once`, name);
    for (const one of value.split(',')) {
      const spec = includeSpec(type, kind, one.trim());
      if (!includes.some((i) => i.kind === spec.kind && i.source === spec.source && i.param === spec.param && sameTargets(i.targets, spec.targets))) includes.push(spec);
    }
  }
  return { query: rest, includes };
}

function includeSpec(searched: PlansType, kind: IncludeParam, value: string): IncludeSpec {
  const supported = supportedFor(searched, kind);
  const refuse = (why: string) =>
    badRequest(`${kind}=${value}: ${why}. On ${searched} this service serves ${supported.length > 0 ? supported.map((s) => `${kind}=${s}`).join(', ') : `no ${kind}`}`, kind);
  if (value === '*' || value.endsWith(':*')) throw refuse('wildcards are not supported');
  const [source, param, target, ...extra] = value.split(':');
  if (!source || !param || extra.length > 0) throw refuse('expected <Type>:<search parameter>[:<target type>]');
  if (SUBJECT_PARAMS.has(param)) throw refuse('the subject is a Patient of the partnership index (the MPI, port 4001): read it there');
  if (!isPlansType(source)) throw refuse(`this service keeps no ${source}`);
  if (kind === '_include' && source !== searched) throw refuse(`an _include follows a reference of the searched type (${searched})`);
  const linkTargets = LINKS[source][param as LinkParam];
  if (!linkTargets) throw refuse(`${source}:${param} is not a reference this service follows`);
  if (target !== undefined && !(linkTargets as readonly string[]).includes(target)) throw refuse(`${source}:${param} does not point to ${target} here`);
  const targets = target !== undefined ? [target as PlansType] : linkTargets;
  if (kind === '_revinclude' && !targets.includes(searched)) throw refuse(`${source}:${param} never points to ${searched}`);
  return { kind, source, param: param as LinkParam, targets: kind === '_revinclude' ? [searched] : targets };
}

/** Every include value the service serves on a search of `type` (for the refusal's message). */
export function supportedFor(type: PlansType, kind: IncludeParam): string[] {
  if (kind === '_include') return Object.keys(LINKS[type]).map((param) => `${type}:${param}`);
  return PLANS_TYPES.flatMap((source) =>
    Object.entries(LINKS[source])
      .filter(([, targets]) => targets.includes(type))
      .map(([param]) => `${source}:${param}`),
  );
}

/** The references a resource makes through a link parameter, as `Type/id` of the given types (relative references only). */
export function linkedReferences(resource: CarePlan | QuestionnaireResponse | ServiceRequest | Observation, param: LinkParam, targets: readonly PlansType[]): { type: PlansType; id: string }[] {
  const refs: (Reference | undefined)[] =
    param === 'activity-reference'
      ? resource.resourceType === 'CarePlan'
        ? (resource.activity ?? []).map((a) => a.reference)
        : []
      : resource.resourceType === 'CarePlan'
        ? []
        : (resource.basedOn ?? []);
  return refs.flatMap((ref) => {
    const m = /^([A-Za-z]+)\/([A-Za-z0-9\-.]{1,64})$/.exec(ref?.reference ?? '');
    return m && (targets as readonly string[]).includes(m[1]!) ? [{ type: m[1] as PlansType, id: m[2]! }] : [];
  });
}

function isPlansType(value: string): value is PlansType {
  return (PLANS_TYPES as readonly string[]).includes(value);
}

function sameTargets(a: readonly PlansType[], b: readonly PlansType[]): boolean {
  return a.length === b.length && a.every((t) => b.includes(t));
}
