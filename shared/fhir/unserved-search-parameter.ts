/**
 * The one refusal of a search parameter a search does not serve, for every search of every service.
 *
 * The hub's searches are strict by default: a parameter they cannot honour is a 400 naming it, never
 * silently unfiltered results. Two kinds are worded apart, because a client author reads them differently:
 * FHIR's own search parameters (`_sort`, `_elements`, `_include`, … — R4 §3.1.1.5 and the common
 * parameters of every resource) are *not supported* here, with the reason; any other name is *unknown* for
 * the type. Both list what the search does take, and both are `not-supported` / 400 as HAPI answers them.
 * With `Prefer: handling=lenient` (R4 §3.1.1.4) the search drops the parameter instead and says so
 * (`rest/search-query.ts` `servedSearch`): the error carries the query key for that.
 */
import { OperationOutcomeError, outcome } from './outcome.js';

/** The result parameters every search of the hub takes (search-plan.ts `ResultParamsReader`). */
const RESULT_PARAMETERS = '_count, _offset, _total, _summary=count';

/** FHIR R4's own search and result parameters, with why a hub search does not serve them where it does not. */
const FHIR_PARAMETERS: ReadonlyMap<string, string> = new Map([
  // Searches in id order honour `_sort=_id` (search-plan.ts `ResultParamsReader`) and refuse other sorts with `unservedSort`.
  ['_sort', 'results come in one fixed order; page through them with _count and the Bundle’s next link'],
  ['_elements', 'entries are whole resources'],
  ['_include', 'this search includes no other resources'],
  ['_revinclude', 'this search includes no other resources'],
  ['_contained', 'no resources are contained'],
  ['_containedType', 'no resources are contained'],
  ['_has', 'reverse chaining is not served'],
  ['_list', 'lists are not served'],
  ['_text', 'narrative search is not served'],
  ['_content', 'full-text search is not served'],
  ['_filter', 'the _filter syntax is not served'],
  ['_query', 'named queries are not served'],
  ['_type', 'searches are by type'],
  ['_tag', 'meta.tag is not indexed'],
  ['_profile', 'meta.profile is not indexed'],
  ['_security', 'meta.security is not indexed'],
  ['_source', 'meta.source is not indexed'],
  ['_language', 'language is not indexed'],
  ['_id', 'read the resource by its id instead (GET [type]/[id])'],
  ['_lastUpdated', 'meta.lastUpdated is not indexed for this search'],
]);

/** A refusal of one search parameter; `parameter` is the query key as sent (modifier included), which lenient handling drops. */
export class UnservedSearchParameterError extends OperationOutcomeError {
  constructor(
    readonly parameter: string,
    text: string,
  ) {
    super(outcome('not-supported', text, { expression: [parameter] }), 400);
  }
}

/**
 * The 400 for query key `key` that a search of `type` does not serve; `served` names the parameters it does
 * take (besides the result parameters), listed in the text so a client author can correct the query.
 */
export function unservedSearchParameter(type: string, key: string, served: readonly string[]): UnservedSearchParameterError {
  const name = key.split(':')[0] ?? key;
  const takes = `${type} search takes ${served.length > 0 ? `${served.join(', ')}, ` : ''}${RESULT_PARAMETERS}`;
  const lenient = 'Prefer: handling=lenient has it ignored';
  const reason = FHIR_PARAMETERS.get(name);
  const text =
    reason !== undefined
      ? `'${name}' is not supported on ${type} search here: ${reason} (${takes}; ${lenient})`
      : `Unknown search parameter '${name}' for ${type} (${takes}; ${lenient})`;
  return new UnservedSearchParameterError(key, text);
}

/**
 * The 400 for a `_sort` other than the one order a search's results come in (`by`, e.g. `_id`): sorting on
 * anything else would need every match read and held before the first page, so it is refused (lenient: ignored).
 */
export function unservedSort(order: { type: string; by: string; reverse: string }, key: string, value: string): UnservedSearchParameterError {
  return new UnservedSearchParameterError(
    key,
    `'_sort=${value}' is not supported on ${order.type} search here: results come in ${order.by} order, which _sort=${order.by} asks for, or in the reverse, _sort=${order.reverse}, and in no other (page through them with _count and the Bundle’s next link; Prefer: handling=lenient has it ignored)`,
  );
}

export function isUnservedSearchParameter(e: unknown): e is UnservedSearchParameterError {
  return e instanceof UnservedSearchParameterError;
}
