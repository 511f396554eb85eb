/**
 * What a FHIR request may ask of the hub, checked once in the service shell
 * (shared/http/service-app.ts) for every service, so that nothing the hub
 * does not serve is silently ignored.
 *
 * Content negotiation of the FHIR API (FHIR R4 §3.1.0.1.9-10, RFC 9110 §12):
 * the hub speaks FHIR R4 in JSON only. A client asking for XML or Turtle —
 * by `_format` (which overrides `Accept`) or by an `Accept` header naming no
 * JSON type and no wildcard — gets 406, not JSON it did not ask for; a body
 * or an answer in another FHIR version (`fhirVersion` media-type parameter)
 * gets 415 / 406. Formats that are not FHIR serialisations (`_format=pdf` of
 * a printable plan) are the route's to judge.
 *
 * And which media type a body may have where: a POST `_search` takes its
 * parameters form-encoded (a JSON body there would be ignored and the search
 * run unfiltered); every other FHIR write takes FHIR JSON (a form there is
 * not a resource).
 *
 * Pure: each check answers the refusal, or undefined.
 */
import { FORMAT_PARAMETERS, JSON_FORMAT, OTHER_FHIR_FORMAT, R4, acceptedRanges, formatValue, parseMediaRange, servedSomewhere } from './media-types.js';
import { badRequest, interactionNotSupported, notAcceptable, unsupportedMediaType, type OperationOutcomeError } from './outcome.js';

/** 406 for `_format` values naming a FHIR serialisation other than JSON, another FHIR version, or nothing any route answers in. */
export function formatParamProblem(values: readonly string[]): OperationOutcomeError | undefined {
  for (const raw of values) {
    const range = parseMediaRange(formatValue(raw));
    if (OTHER_FHIR_FORMAT.test(range.type)) {
      return notAcceptable(`This server answers in FHIR JSON only: _format=${raw} is not available; use _format=json or leave _format out`, '_format');
    }
    const version = range.params.get('fhirversion');
    if (JSON_FORMAT.test(range.type) && version !== undefined && !R4.test(version)) {
      return notAcceptable(`This server speaks FHIR R4 (fhirVersion=4.0) only, not fhirVersion=${version}`, '_format');
    }
    if (!servedSomewhere(range)) {
      return notAcceptable(`_format=${raw.slice(0, 100)} is not a format this server answers in; use _format=json (or application/fhir+json), or leave _format out`, '_format');
    }
  }
  return undefined;
}

/**
 * 406 when `Accept` names nothing the hub answers in: only other FHIR serialisations
 * (`application/fhir+xml`), FHIR JSON of another version, or types no route produces (`image/png`,
 * `text/plain`). Any JSON type, a wildcard or a document some route serves (a PDF) is left to the route
 * (`respond` refuses a read whose client accepts no JSON).
 */
export function acceptProblem(accept: string | undefined): OperationOutcomeError | undefined {
  if (!accept || accept.trim() === '') return undefined;
  if (!accept.split(',').some((r) => parseMediaRange(r).type !== '') || acceptedRanges(accept).some(servedSomewhere)) return undefined;
  return notAcceptable(`This server answers in FHIR R4 JSON (application/fhir+json; fhirVersion=4.0) only; Accept: ${accept.slice(0, 200)} names none of it`);
}

/**
 * The media type of a request body on a FHIR path: 415 for FHIR JSON of another
 * version, a JSON body on a POST `_search`, or a form where a resource is expected.
 * `contentType` is the header as sent; the caller has already refused types that are neither JSON nor a form.
 */
export function bodyTypeProblem(path: string, contentType: string, isForm: boolean): OperationOutcomeError | undefined {
  const version = parseMediaRange(contentType).params.get('fhirversion');
  if (version !== undefined && !R4.test(version)) return unsupportedMediaType(`This server takes FHIR R4 (fhirVersion=4.0) only, not fhirVersion=${version}`);
  const search = path.endsWith('/_search');
  if (search && !isForm) {
    return unsupportedMediaType(`POST ${path} takes its search parameters form-encoded (application/x-www-form-urlencoded), not ${contentType}`);
  }
  if (!search && isForm) {
    return unsupportedMediaType(`${path} takes a FHIR resource as application/fhir+json, not a form (application/x-www-form-urlencoded)`);
  }
  return undefined;
}

/** The names UTF-8 goes by in a `charset` parameter (RFC 3629's, and the `utf8` many libraries write); compared in lower case. */
const UTF8_NAMES: ReadonlySet<string> = new Set(['utf-8', 'utf8']);

/**
 * The `Content-Type` of a request body, read as RFC 9110 §8.3.1 writes it: parameters are case-insensitive names with
 * token or quoted-string values. Refused: a parameter given twice (`charset=utf-8; charset=latin1`: RFC 6838 §4.3,
 * one header, two readings — 400) and a `charset` that is not UTF-8 (415 naming it; JSON is UTF-8, RFC 8259 §8.1).
 * `utf8` and `"UTF-8"` are UTF-8: the header to hand the body parser is returned with the charset written `utf-8`.
 */
export function contentTypeCharset(contentType: string): { readonly problem: OperationOutcomeError } | { readonly header: string } {
  const [type = '', ...params] = contentType.split(';');
  const seen = new Set<string>();
  const kept: string[] = [type.trim()];
  for (const p of params) {
    if (p.trim() === '') continue;
    const eq = p.indexOf('=');
    const name = (eq < 0 ? p : p.slice(0, eq)).trim().toLowerCase();
    if (seen.has(name)) return { problem: badRequest(`Content-Type gives the parameter ${name.slice(0, 50)} twice; give it once`, 'Content-Type') };
    seen.add(name);
    const value = eq < 0 ? '' : p.slice(eq + 1).trim().replace(/^"(.*)"$/, '$1');
    if (name !== 'charset') {
      kept.push(p.trim());
      continue;
    }
    if (!UTF8_NAMES.has(value.toLowerCase())) {
      return { problem: unsupportedMediaType(`charset=${value.slice(0, 50)} is not taken: send the body in UTF-8 (charset=utf-8, or no charset)`) };
    }
    kept.push('charset=utf-8');
  }
  return { header: kept.join('; ') };
}

/** Whether a path is part of the FHIR API (`/fhir`, `/fhir/...`), where these rules hold. */
export const isFhirPath = (path: string): boolean => path === '/fhir' || path.startsWith('/fhir/');

/** The `_format` values of a request target, read from its raw query (the path guard has already checked its encoding). */
export function formatParams(originalUrl: string): string[] {
  const q = originalUrl.indexOf('?');
  if (q < 0 || !originalUrl.includes('_format', q)) return [];
  return new URLSearchParams(originalUrl.slice(q + 1)).getAll('_format');
}

/** One value where FHIR allows one: `_format` given twice with different values is ambiguous. */
export function repeatedFormatProblem(values: readonly string[]): OperationOutcomeError | undefined {
  return new Set(values.map(formatValue)).size > 1 ? badRequest(`_format is given ${values.length} times with different values; give it once`, '_format') : undefined;
}

/**
 * A mark a route handler carries to say it honours a request header the shell otherwise refuses (the shell reads the
 * routes: shared/http/methods.ts): `mark` sets it on a handler, `carries` asks whether one has it.
 */
function handlerMark(what: string): { mark: <F extends object>(handler: F) => F; carries: (handler: unknown) => boolean } {
  const symbol = Symbol(what);
  return {
    mark: (handler) => Object.assign(handler, { [symbol]: true }),
    carries: (handler) => typeof handler === 'function' && (handler as unknown as Record<symbol, unknown>)[symbol] === true,
  };
}

/** Marks a create handler that honours `If-None-Exist` (the generic REST routes: shared/fhir/rest/resource-routes.ts). */
const conditionalCreate = handlerMark('serves If-None-Exist');
export const servingConditionalCreate = conditionalCreate.mark;
export const servesConditionalCreate = conditionalCreate.carries;

/** Marks an update handler that honours `If-None-Match` (the generic REST routes: the store evaluates it with the write). */
const writeIfNoneMatch = handlerMark('serves If-None-Match on a write');
export const servingIfNoneMatch = writeIfNoneMatch.mark;
export const servesIfNoneMatch = writeIfNoneMatch.carries;

/**
 * Conditional create (`If-None-Exist`) where the create route does not serve it (its CapabilityStatement
 * declares no `conditionalCreate`): ignoring the header would create the duplicate the client meant to avoid.
 * `served`: whether the route the request goes to honours it (the shell reads the routes: shared/http/methods.ts).
 */
export function conditionalCreateProblem(method: string, ifNoneExist: string | undefined, served = false): OperationOutcomeError | undefined {
  if (method !== 'POST' || ifNoneExist === undefined || served) return undefined;
  return badRequest('Conditional create (If-None-Exist) is not served here: search first, or update by identifier where the service offers it (see GET /fhir/metadata)', 'If-None-Exist');
}

/**
 * `If-None-Match` on a write (RFC 9110 §13.1.2: `*` — only if there is no current version; versions — only if the
 * current is none of them) where the route does not evaluate it: ignored, the write went ahead as if the condition
 * had been checked (until 2026-12-07). On a read it is the conditional read (304), answered by `respond`.
 */
export function ifNoneMatchWriteProblem(method: string, ifNoneMatch: string | undefined, served = false): OperationOutcomeError | undefined {
  if (ifNoneMatch === undefined || method === 'GET' || method === 'HEAD' || method === 'OPTIONS' || served) return undefined;
  return badRequest(`If-None-Match on ${method} is not served here: ${method === 'PUT' ? 'send If-Match with the version you read' : 'leave it out'} (conditional updates by version are served with If-Match)`, 'If-None-Match');
}

/** A read, a vread or an instance's `_history` (R4 ids never start with `$` or `_`, so operations and `_search` are not these). */
const INSTANCE_READ = /^\/fhir\/[A-Z][A-Za-z]*\/[^/$_][^/]*(\/_history(\/[^/]+)?)?$/;

/**
 * Parameters on a read, a vread or a `_history`, which take none here beyond `_format` / `_pretty` and `_summary=false`
 * (the whole resource: what is answered; refused with 400 until 2026-12-08): answering the
 * whole resource to `?_summary=true` or `?_elements=name` — what the client asked to be cut — or to a misspelt
 * parameter would pass for having honoured it, where a search refuses the same parameters (until 2026-12-07 reads
 * ignored their query). `Prefer: handling=lenient` has them ignored, as it has a search's unserved parameters.
 */
export function instanceReadQueryProblem(path: string, originalUrl: string, lenient = false): OperationOutcomeError | undefined {
  const q = originalUrl.indexOf('?');
  if (q < 0 || lenient || !INSTANCE_READ.test(path)) return undefined;
  // `_summary=false` asks for every element (HAPI's summaryMode(FALSE) sends it): what is served, so it is honoured.
  const names = [...new URLSearchParams(originalUrl.slice(q + 1))].filter(([k, v]) => !FORMAT_PARAMETERS.has(k) && !(k === '_summary' && v === 'false')).map(([k]) => k);
  if (names.length === 0) return undefined;
  const given = [...new Set(names)].join(', ').slice(0, 200);
  if (path.endsWith('/_history')) return badRequest(`_history returns every version of the resource and takes no parameters but _format, _pretty and _summary=false (got ${given})`, names[0]);
  return badRequest(`A read returns the whole resource and takes no parameters but _format, _pretty and _summary=false (got ${given}); other _summary values and _elements are not served — Prefer: handling=lenient has them ignored`, names[0]);
}

/** `_summary` values a client may send when it reads the CapabilityStatement (every one answered with the whole statement). */
const METADATA_SUMMARIES = new Set(['true', 'false', 'text', 'data']);

/**
 * The parameters of `GET /fhir/metadata` (R4 §3.1.0.4, the capabilities interaction: `mode`, `_format`, `_pretty`).
 * `mode=full` and `mode=normative` are the statement (CapabilityStatement is normative in R4, so they are one);
 * `mode=terminology` asks for a TerminologyCapabilities, which no service here has (none serves a terminology
 * operation): a 400 `not-supported` saying so; any other mode a 400 naming the three. Until 2026-12-07 every `mode`
 * (`terminology`, `bogus`) was answered with the CapabilityStatement. `_summary` (`true`, `false`, `text`, `data`) is
 * taken and the whole statement answered — it holds every summary element, and a client checking the server's FHIR
 * version asks `metadata?_summary=true` (Firely's `VerifyFhirVersion`); any other parameter (`_elements`, a misspelt
 * one, `_summary=count`) is a 400 as on a read, ignored with `Prefer: handling=lenient`.
 */
export function metadataQueryProblem(path: string, originalUrl: string, lenient = false): OperationOutcomeError | undefined {
  const q = originalUrl.indexOf('?');
  if (q < 0 || path !== '/fhir/metadata') return undefined;
  const params = new URLSearchParams(originalUrl.slice(q + 1));
  const modes = params.getAll('mode');
  if (modes.length > 1) return badRequest('mode is given more than once: send one of full, normative or terminology', 'mode');
  const mode = modes[0];
  if (mode === 'terminology') {
    return interactionNotSupported(
      'mode=terminology (a TerminologyCapabilities) is not served: this server has no terminology service (no $lookup, $validate-code or $expand). GET /fhir/metadata answers its CapabilityStatement',
      'mode',
    );
  }
  if (mode !== undefined && mode !== 'full' && mode !== 'normative') {
    return badRequest(`mode=${mode.slice(0, 50)} is not a capabilities mode: send full, normative or terminology (R4), or leave it out`, 'mode');
  }
  if (lenient) return undefined;
  const unserved = [...params.entries()].filter(([k, v]) => k !== 'mode' && !FORMAT_PARAMETERS.has(k) && !(k === '_summary' && METADATA_SUMMARIES.has(v))).map(([k, v]) => (k === '_summary' ? `_summary=${v.slice(0, 20)}` : k));
  if (unserved.length === 0) return undefined;
  const given = [...new Set(unserved)].join(', ').slice(0, 200);
  return badRequest(`GET /fhir/metadata takes mode, _summary (true, false, text or data: the whole statement is answered), _format and _pretty (got ${given}) — Prefer: handling=lenient has others ignored`, unserved[0]?.split('=')[0]);
}
