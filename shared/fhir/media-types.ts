/**
 * Media types of the FHIR API, read once for the whole hub (pure): how an `Accept` or `_format` value
 * is parsed, which of them the hub answers in JSON, and which JSON media type it answers in.
 *
 * FHIR R4 §3.1.0.1.10: the formal type is `application/fhir+json`; a client naming a generic JSON type
 * (`application/json`, `text/json`) SHOULD get that type back, with the FHIR JSON format in it; `_format`
 * overrides `Accept`. The hub speaks FHIR R4 in JSON; a few routes also answer documents that are not FHIR
 * (a printable plan in PDF or HTML, an NDJSON export), so those types are the routes' to judge.
 */

export interface MediaRange {
  readonly type: string;
  readonly params: ReadonlyMap<string, string>;
  /** The `q` weight (RFC 9110 §12.4.2), 1 when absent. */
  readonly q: number;
}

export function parseMediaRange(text: string): MediaRange {
  const [type = '', ...rest] = text.split(';');
  const params = new Map<string, string>();
  for (const p of rest) {
    const eq = p.indexOf('=');
    if (eq > 0) params.set(p.slice(0, eq).trim().toLowerCase(), p.slice(eq + 1).trim().replace(/^"(.*)"$/, '$1'));
  }
  const q = Number(params.get('q') ?? '1');
  return { type: type.trim().toLowerCase(), params, q: Number.isFinite(q) ? q : 1 };
}

/** The ranges of an `Accept` header the client accepts at all (q > 0), in the order given. */
export function acceptedRanges(accept: string): MediaRange[] {
  return accept
    .split(',')
    .map(parseMediaRange)
    .filter((r) => r.type !== '' && r.q > 0);
}

/**
 * Parameters every FHIR interaction takes (R4 §3.1.0.1.10 and §3.1.0.1.11: `_format`, `_pretty`): they shape the
 * answer, not what is asked, so a search or operation with its own list of parameters lets them through.
 */
export const FORMAT_PARAMETERS: ReadonlySet<string> = new Set(['_format', '_pretty']);

/** `+` in a query value is a space (form encoding); `application/fhir+json` sent unencoded arrives as `application/fhir json`. */
export const formatValue = (raw: string) => raw.trim().replace(/ /g, '+');

/** The FHIR serialisations the hub does not produce (the `_format` shorthands and their media types). */
export const OTHER_FHIR_FORMAT = /^(xml|ttl|turtle|(text|application)\/(fhir\+)?xml|(text|application)\/(fhir\+)?turtle|application\/x-turtle)$/;
export const JSON_FORMAT = /^(json|(text|application)\/(fhir\+)?json|application\/json\+fhir)$/;
/** FHIR R4 is `4.0`; a patch level (`4.0.1`) names the same version. */
export const R4 = /^4\.0(\.\d+)?$/;

/**
 * What FHIR routes answer besides JSON: printable documents (`$render`, `$chronology`: `format`/`_format`
 * `pdf` or `html`) and NDJSON exports (`$export`). A request asking only for something else (`image/png`,
 * `_format=foo`) can be refused before any route runs: nothing here would answer it.
 */
const DOCUMENT_FORMAT = /^(pdf|html|ndjson|application\/pdf|text\/html|application\/(fhir\+|x-)?ndjson)$/;

/** The JSON media types the hub answers FHIR in. */
export type JsonAnswerType = 'application/fhir+json' | 'application/json' | 'text/json';

/** The JSON type a range asks for, or undefined when it admits no JSON (another format, another FHIR version). */
function jsonTypeOf(range: MediaRange): JsonAnswerType | undefined {
  const version = range.params.get('fhirversion');
  if (version !== undefined && !R4.test(version)) return undefined;
  switch (range.type) {
    case 'json':
    case 'application/fhir+json':
    case 'application/json+fhir':
    case '*/*':
    case 'application/*':
    case 'application/*+json': // not a media range RFC 9110 defines, but sent meaning "any structured JSON" (RFC 6839): FHIR's is one
      return 'application/fhir+json';
    case 'application/json':
      return 'application/json';
    case 'text/json':
    case 'text/*':
      return 'text/json';
    default:
      return undefined;
  }
}

/**
 * The media type a FHIR JSON answer goes out in: what `_format` names, else the best-weighted JSON type
 * `Accept` names (FHIR's own type wins a tie and stands for wildcards), else `application/fhir+json`.
 * Undefined when the request admits no JSON at all (it asked only for a document or another format).
 */
export function jsonAnswerType(formats: readonly string[], accept: string | undefined): JsonAnswerType | undefined {
  const format = formats[0];
  if (format !== undefined) return jsonTypeOf(parseMediaRange(formatValue(format)));
  if (!accept || accept.trim() === '') return 'application/fhir+json';
  if (!accept.split(',').some((r) => parseMediaRange(r).type !== '')) return 'application/fhir+json';
  let best: { type: JsonAnswerType; q: number } | undefined;
  for (const range of acceptedRanges(accept)) {
    const type = jsonTypeOf(range);
    if (!type) continue;
    if (!best || range.q > best.q || (range.q === best.q && type === 'application/fhir+json')) best = { type, q: range.q };
  }
  return best?.type;
}

/** Whether a `_format` value or an `Accept` range names something some FHIR route of the hub answers in. */
export function servedSomewhere(range: MediaRange): boolean {
  return jsonTypeOf(range) !== undefined || DOCUMENT_FORMAT.test(range.type);
}
