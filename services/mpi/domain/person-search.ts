/**
 * FHIR search of index Persons (`GET /fhir/Person?…`) → what to look up. Pure.
 * - `link`: a Person linking this agency record (`Patient/<id>`, an absolute URL
 *   ending so, or a bare id) or, for `Person/<id>`, the Persons merged into it;
 *   `link:Patient=<id>` / `link:Person=<id>` name the type.
 * - `identifier`: a Person's identifier is its CHI (`<CHI system>|<chi>` or the bare number).
 * - `_id`, and the result parameters every search takes.
 * Parameters AND together, comma-separated values OR together. A search needs a
 * criterion: the list of every Person is not something an agency may page through.
 */
import { badRequest, tooCostly } from '../../../shared/fhir/outcome.js';
import { unservedSearchParameter } from '../../../shared/fhir/unserved-search-parameter.js';
import { IdentifierSystems } from '../../../shared/fhir/systems.js';
import { referenceKey } from '../../../shared/store/search-params.js';
import { idOrder, queryPairs, ResultParamsReader, searchParamOf, splitUnescaped, unescape, type ResultParams, type SearchQuery } from '../../../shared/store/search-plan.js';
import { chiBlockingKey } from './blocking.js';

export type PersonSource =
  | { readonly kind: 'person'; readonly id: string }
  /** The Person holding this agency record. */
  | { readonly kind: 'record'; readonly id: string }
  /** Persons merged into this one. */
  | { readonly kind: 'merged-into'; readonly id: string }
  /** Persons holding records with this CHI. */
  | { readonly kind: 'chi'; readonly blockingKey: string };

export interface PersonSearchPlan extends ResultParams {
  /** All must match; each clause: any of its sources (never empty). */
  readonly clauses: readonly (readonly PersonSource[])[];
}

const ID = /^[A-Za-z0-9\-.]{1,64}$/;

export function planPersonSearch(query: SearchQuery): PersonSearchPlan {
  const clauses: PersonSource[][] = [];
  // Matches are paged in id order (`matching…Ids` sorts them): `_sort=_id` asks for what is served, `-_id` the reverse.
  const result = new ResultParamsReader(idOrder('Person'));
  for (const [key, raw] of queryPairs(query)) {
    if (result.read(key, raw)) continue;
    const param = searchParamOf(key, raw);
    const { name, modifier } = param;
    const values = param.values.map(unescape);
    if (values.length === 0) continue;
    if (name !== 'link' && modifier !== undefined) throw badRequest(`Modifier ':${modifier}' is not supported on '${name}'`, key);
    switch (name) {
      case '_id':
        clauses.push(values.map((id) => ({ kind: 'person', id })));
        break;
      case 'link':
        clauses.push(values.flatMap((v) => linkSources(v, modifier, key)));
        break;
      case 'identifier':
        clauses.push(values.flatMap((v) => chiSources(v)));
        break;
      default:
        throw unservedSearchParameter('Person', key, ['link', 'identifier', '_id']);
    }
  }
  if (clauses.length === 0) throw tooCostly('Search Persons by link (an agency record), identifier (the CHI) or _id');
  return { clauses, ...result.params() };
}

function linkSources(value: string, modifier: string | undefined, key: string): PersonSource[] {
  if (modifier !== undefined && !['Patient', 'Person', 'Practitioner', 'RelatedPerson'].includes(modifier)) {
    throw badRequest(`Modifier ':${modifier}' is not supported on 'link' (Patient or Person)`, key);
  }
  let type = modifier;
  let id = value;
  if (value.includes('/')) {
    const ref = referenceKey(value);
    if (!ref) throw badRequest(`'${value}' is not a reference (Type/id) for '${key}'`, key);
    [type, id] = ref.split('/') as [string, string];
    if (modifier !== undefined && modifier !== type) return [];
  } else if (!ID.test(value)) {
    throw badRequest(`'${value}' is not a resource id for '${key}'`, key);
  }
  // A bare id is an agency record's (what an agency system holds); Persons link only Patients and Persons.
  if (type === undefined || type === 'Patient') return [{ kind: 'record', id }];
  if (type === 'Person') return [{ kind: 'merged-into', id }];
  return [];
}

function chiSources(value: string): PersonSource[] {
  const [system, ...rest] = splitUnescaped(value, '|');
  if (rest.length === 0) return [{ kind: 'chi', blockingKey: chiBlockingKey(value.replace(/\s/g, '')) }];
  const code = rest.join('|');
  return system === IdentifierSystems.chi && code !== '' ? [{ kind: 'chi', blockingKey: chiBlockingKey(code.replace(/\s/g, '')) }] : [];
}
