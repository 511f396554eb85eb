/**
 * FHIR over Express: body parsing (JSON / FHIR+JSON, size limits), responses in
 * `application/fhir+json`, and the one error handler that turns everything
 * into an OperationOutcome. Every answer is audited before it is sent.
 */
import express, { type ErrorRequestHandler, type NextFunction, type Request, type RequestHandler, type Response } from 'express';
import type { OperationOutcome, Resource } from 'fhir/r4.js';
import type { AuditSink } from '../audit/exchange.js';
import { BEARER_CHALLENGE } from '../auth/middleware.js';
import { announcedOverLimit, bodyLimitBytes, hasBody, sentBytesCeiling } from '../http/body-limits.js';
import { formBodyProblem, jsonBodyProblem, jsonPathsAt, MAX_JSON_DEPTH, type NumberSpelling } from '../http/input-guard.js';
import type { Logger } from '../log.js';
import { etagOf } from './bundle.js';
import { jsonAnswerType, type JsonAnswerType } from './media-types.js';
import { notModified } from './not-modified.js';
import { integralSpellingError } from './validate.js';
import { keepSpellings, stringifyKeepingSpellings } from './number-spelling.js';
import { bodyTypeProblem, contentTypeCharset, formatParams, isFhirPath } from './request-rules.js';
import { auditExchange, describeExchange, requestIdOf, type ExchangeDescription } from './exchange-context.js';
import {
  badRequest,
  informational,
  internalError,
  isOperationOutcomeError,
  notAcceptable,
  notFound,
  type OperationOutcomeError,
  requestTimeout,
  tooLarge,
  unavailable,
  unsupportedMediaType,
} from './outcome.js';

export const FHIR_JSON = 'application/fhir+json';

/**
 * The media types read as JSON: FHIR's, generic JSON, and `application/json+fhir` — the DSTU2 type older clients
 * still send, which `Accept` and `_format` already honour (media-types.ts); as a body's type it was a 415.
 * Not every `application/*+json`: a JSON Patch or merge patch (`application/json-patch+json`,
 * `application/merge-patch+json`) or a vendor's JSON is not a resource, and was stored as one until 2026-12-07.
 */
export const JSON_TYPES = ['application/json', 'application/fhir+json', 'application/json+fhir'];
const FORM = 'application/x-www-form-urlencoded';
/** The bodies the parsers read: JSON and forms. */
const BODY_TYPES = [...JSON_TYPES, FORM];

/** Size in bytes of each parsed request body (what validation weighs to decide where to run). */
const bodySizes = new WeakMap<Request, number>();

/** The parsed body's size in bytes as received (0 when there was none). */
export function bodyBytesOf(req: Request): number {
  return bodySizes.get(req) ?? 0;
}

/** Requests whose exact body bytes are kept (`keepRawBody`), and those bytes once read. */
const rawBodyWanted = new WeakSet<Request>();
const rawBodies = new WeakMap<Request, Buffer>();

/**
 * Asks the body parser to keep this request's exact bytes (before the parser
 * runs): a signature or digest over the body is checked against what was
 * sent, never a re-serialisation. Opt-in, so bulk loads are not held twice.
 */
export function keepRawBody(req: Request): void {
  rawBodyWanted.add(req);
}

/** The exact body bytes of a request marked with `keepRawBody`; undefined otherwise or without a body. */
export function rawBodyOf(req: Request): Buffer | undefined {
  return rawBodies.get(req);
}

/**
 * Runs on a body's raw bytes before it is parsed: refuses what no parser or
 * validator should see (shared/http/input-guard.ts). Throwing here makes the
 * parser pass the error on, so the refusal is audited like any other.
 */
function guard(problemOf: (body: Buffer, req: Request) => string | undefined) {
  return (req: Request, _res: Response, body: Buffer, encoding: string): void => {
    bodySizes.set(req, body.length);
    if (rawBodyWanted.has(req)) rawBodies.set(req, body);
    if (encoding !== 'utf-8') throw unsupportedMediaType(`Send request bodies in UTF-8 (got charset ${encoding})`);
    const problem = problemOf(body, req);
    if (problem) throw badRequest(problem);
  };
}

/** The numbers of a request's JSON body that JSON.parse does not read back as written (`1.50`, `2.0`), where they are: judged and kept once it is parsed. */
const numberSpellings = new WeakMap<Request, { path: (string | number)[]; text: string; integral: boolean }[]>();

/** The input guard over a JSON body, keeping aside the numbers whose spelling only the element's type can judge (`2.0`) or is a precision (`1.50`). */
function jsonGuardProblem(body: Buffer, req: Request): string | undefined {
  const found: NumberSpelling[] = [];
  const problem = jsonBodyProblem(body, MAX_JSON_DEPTH, found);
  if (!problem && found.length > 0) {
    const paths = jsonPathsAt(body, found.map((f) => f.offset));
    if (paths) numberSpellings.set(req, found.map((f, i) => ({ path: paths[i]!, text: f.text, integral: f.integral })));
  }
  return problem;
}

/**
 * After parsing: a number written `2.0`, `1e2` or `-0` where FHIR wants an integer type is refused (422, naming the
 * element), as `2.5` is. JSON.parse reads them as 2, 100 and 0, so no validator after this point can tell. The
 * spelling of every other such number (a decimal's `1.50`) is kept with the parsed body (number-spelling.ts).
 */
const judgeNumberSpellings: RequestHandler = (req, _res, next) => {
  const numbers = numberSpellings.get(req);
  if (!numbers) return next();
  numberSpellings.delete(req);
  const error = integralSpellingError(req.body, numbers.filter((n) => n.integral));
  if (!error) keepSpellings(req.body, numbers);
  next(error);
};

/** How long a body may stop arriving (no byte at all) before it is refused: idle time, so a large body on a slow link is fine. */
export const BODY_IDLE_MS = 10_000;

/**
 * How long a body may take: BODY_GRACE_MS, plus a second for every BODY_MIN_BYTES_PER_SECOND bytes that have come
 * (Apache's `RequestReadTimeout body=20,MinRate=500`, with a longer grace). A body trickled a byte every few seconds —
 * never idle for BODY_IDLE_MS — held its connection until Node's `requestTimeout` (300 s); now it is refused after
 * half a minute. 500 bytes/s is 4 kbit/s: a GPRS link carries ten times that, so no real client on a slow link is
 * refused by it; a 50 MB bulk load is bounded by Node's 300 s first.
 */
export const BODY_GRACE_MS = 30_000;
export const BODY_MIN_BYTES_PER_SECOND = 500;

/** The time bounds of a request body's arrival (the hub's are the BODY_ constants; tests shorten them). */
export interface BodyTimeBounds {
  /** No byte for this long: 408. */
  readonly idleMs: number;
  /** Every body may take this long… */
  readonly graceMs: number;
  /** …plus a second per this many bytes received. */
  readonly minBytesPerSecond: number;
}

const BODY_TIME_BOUNDS: BodyTimeBounds = { idleMs: BODY_IDLE_MS, graceMs: BODY_GRACE_MS, minBytesPerSecond: BODY_MIN_BYTES_PER_SECOND };

/** The refusal of a body over `limit` (the setting as written: `1mb`). */
function overLimit(limit: string) {
  return tooLarge(`The request body is larger than this endpoint takes (${limit})`);
}

/**
 * Runs the body parsers (`parsers`, in order) within the body's bounds:
 * - a body whose `Content-Length` is over the limit is refused at once, unread (the parser read it all first,
 *   however large); one of unannounced length (chunks) once its bytes pass the limit, not at its end. What follows
 *   the answer is read and discarded within bounds (shared/http/body-limits.ts), so the client reads the 413.
 * - a body that stops arriving — fewer bytes than `Content-Length` promised, a chunked body never ended — is an
 *   audited 408 instead of a wait as long as the client keeps the connection open. The connection is closed after
 *   the answer: what is left of the body would otherwise be read as the next request.
 * - a body that keeps arriving too slowly — past its grace time, fewer bytes than the minimum rate would have
 *   brought — is an audited 408 too, the connection closed (BODY_GRACE_MS).
 */
function withinBodyBounds(parsers: readonly RequestHandler[], limit: string, bounds: BodyTimeBounds): RequestHandler {
  const { idleMs, graceMs, minBytesPerSecond } = bounds;
  const limitBytes = bodyLimitBytes(limit);
  const parse: RequestHandler = (req, res, next) => {
    const run = (i: number, err?: unknown): void => {
      const parser = parsers[i];
      if (err || !parser) return next(err);
      parser(req, res, (e?: unknown) => run(i + 1, e));
    };
    run(0);
  };
  return (req, res, next) => {
    if (!hasBody(req) || req.complete) {
      parse(req, res, next);
      return;
    }
    if (limitBytes !== undefined && announcedOverLimit(req, limitBytes) && req.is(BODY_TYPES)) {
      next(overLimit(limit));
      return;
    }
    let settled = false;
    let sent = 0;
    const ceiling = limitBytes === undefined ? Infinity : sentBytesCeiling(req, limitBytes);
    const onIdle = () => {
      res.setHeader('Connection', 'close');
      settle(requestTimeout(`The request body stopped arriving: no byte for ${idleMs / 1000} s before its end (fewer bytes than Content-Length announced, or chunks never ended)`));
    };
    // Counted only once a parser reads the body (a 'data' listener before would start it flowing unread): the rate, and the limit.
    const onData = (chunk: Buffer) => {
      sent += chunk.length;
      if (sent > ceiling) settle(overLimit(limit));
    };
    const onResume = () => req.on('data', onData);
    const started = Date.now();
    // When it fires: refused if the bytes so far do not earn the time taken, else looked at again when they no longer would.
    const onSlow = () => {
      const allowedMs = graceMs + (sent * 1000) / minBytesPerSecond;
      const elapsedMs = Date.now() - started;
      if (elapsedMs < allowedMs) {
        slowTimer = setTimeout(onSlow, allowedMs - elapsedMs);
        return;
      }
      res.setHeader('Connection', 'close');
      settle(requestTimeout(`The request body is arriving too slowly: ${sent} bytes in ${Math.round(elapsedMs / 1000)} s (a body may take ${graceMs / 1000} s plus 1 s per ${minBytesPerSecond} bytes)`));
    };
    let slowTimer = setTimeout(onSlow, graceMs);
    const settle = (err?: unknown) => {
      if (settled) return;
      settled = true;
      clearTimeout(slowTimer);
      req.off('timeout', onIdle);
      req.off('resume', onResume);
      req.off('data', onData);
      req.socket?.setTimeout(0);
      next(err);
    };
    // The socket's idle timer: it counts bytes, not parsing, and fires only while this body is being read.
    req.setTimeout(idleMs, onIdle);
    req.once('resume', onResume);
    parse(req, res, settle);
  };
}

/**
 * JSON/FHIR-JSON body parser with a size limit; bodies of other types on writes
 * get 415. Each body passes the input guard (UTF-8, depth, no prototype keys)
 * before it is parsed; one over the limit is a 413, one that stops arriving or trickles in too slowly a 408 (`withinBodyBounds`).
 */
export function fhirBodyParser(limit: string, bounds: Partial<BodyTimeBounds> = {}): RequestHandler[] {
  const json = express.json({ type: JSON_TYPES, limit, strict: false, verify: guard(jsonGuardProblem) });
  const form = express.urlencoded({ extended: false, limit, verify: guard(formBodyProblem) });
  const requireJsonOrForm: RequestHandler = (req, _res, next) => {
    // No route takes PATCH: its answer is the 405 with Allow whatever the body (a JSON Patch is not refused for its type first).
    if ((req.method === 'POST' || req.method === 'PUT') && hasBody(req)) {
      const contentType = req.headers['content-type'];
      if (contentType !== undefined) {
        const charset = contentTypeCharset(contentType);
        if ('problem' in charset) return next(charset.problem);
        // `charset=utf8` / `"UTF-8"` as the body parsers read it (they take `utf-8` only, and named any other a bare 415).
        req.headers['content-type'] = charset.header;
      }
      const okType = req.is(BODY_TYPES);
      if (!okType) {
        next(unsupportedMediaType(`Content-Type ${req.headers['content-type'] ?? '(none)'} is not supported; send ${FHIR_JSON}`));
        return;
      }
      if (isFhirPath(req.path)) {
        const problem = bodyTypeProblem(req.path, req.headers['content-type'] ?? '', okType === FORM);
        if (problem) return next(problem);
      }
    }
    next();
  };
  return [requireJsonOrForm, withinBodyBounds([json, form, judgeNumberSpellings], limit, { ...BODY_TIME_BOUNDS, ...bounds })];
}

export interface RespondOptions extends ExchangeDescription {
  /** `Location` header (e.g. after a create). */
  location?: string;
  headers?: Record<string, string>;
}

function auditSinkOf(res: Response): AuditSink {
  // A request may commit its record with a change of its own (plans: a break-glass read and its NP/LP notice, one transaction).
  const sink = (res.locals.auditSink as AuditSink | undefined) ?? (res.app.locals.audit as AuditSink | undefined);
  if (!sink) throw new Error('app.locals.audit is not set: every service must have an audit sink');
  return sink;
}

/**
 * Audits the exchange; false (with a 503 already sent) when the audit write
 * failed: an exchange is never answered without its record.
 */
async function auditBeforeAnswer(req: Request, res: Response, status: number, description: ExchangeDescription): Promise<boolean> {
  describeExchange(res, description);
  try {
    await auditExchange(req, res, auditSinkOf(res), status);
    return true;
  } catch (err) {
    (res.app.locals.log as Logger | undefined)?.error({ err, requestId: requestIdOf(res) }, 'audit write failed; refusing to answer unaudited');
    const failure = unavailable('The exchange could not be recorded in the audit trail; please retry');
    sendOutcome(res, failure.status, failure.outcome);
    return false;
  }
}

/**
 * The JSON media type this request's answer goes out in (`application/fhir+json` unless the client named
 * `application/json` or `text/json`: R4 §3.1.0.1.10); undefined when the client accepts no JSON at all.
 */
function answerTypeOf(req: Request): JsonAnswerType | undefined {
  return jsonAnswerType(formatParams(req.originalUrl), req.header('accept'));
}

/**
 * Sends a FHIR resource (in the negotiated JSON type, with ETag and Last-Modified) after auditing the exchange.
 * A read whose client accepts no JSON (`Accept: text/html`, `_format=pdf` where no document is served) is
 * refused with 406 instead; a write has happened by now, so its answer is JSON regardless.
 */
export async function respond(req: Request, res: Response, status: number, body: Resource, options: RespondOptions = {}): Promise<void> {
  const { location, headers, ...description } = options;
  const answerType = answerTypeOf(req);
  if (!answerType && (req.method === 'GET' || req.method === 'HEAD')) {
    throw notAcceptable(`This answer is FHIR JSON (application/fhir+json, application/json or _format=json); the request accepts none of them (Accept: ${(req.header('accept') ?? '').slice(0, 200)})`);
  }
  const etag = etagOf(body);
  const lastModified = body.meta?.lastUpdated ? new Date(body.meta.lastUpdated).toUTCString() : undefined;
  const unchanged = (req.method === 'GET' || req.method === 'HEAD') && status === 200 && notModified(req.header('if-none-match'), req.header('if-modified-since'), etag, lastModified);
  if (!(await auditBeforeAnswer(req, res, unchanged ? 304 : status, description))) return;
  if (etag) res.setHeader('ETag', etag);
  if (lastModified) res.setHeader('Last-Modified', lastModified);
  if (unchanged) {
    res.status(304).end();
    return;
  }
  if (location) res.setHeader('Location', location);
  for (const [k, v] of Object.entries(headers ?? {})) res.setHeader(k, v);
  const preferred = preferredReturn(req, status, body);
  if (preferred === 'minimal') {
    res.setHeader('Preference-Applied', 'return=minimal');
    res.status(status).end();
    return;
  }
  if (preferred === 'OperationOutcome') {
    res.setHeader('Preference-Applied', 'return=OperationOutcome');
    const done = status === 201 ? 'Created' : 'Updated';
    res.status(status).type(answerType ?? FHIR_JSON).send(JSON.stringify(informational(`${done} ${body.resourceType}/${body.id ?? ''}${body.meta?.versionId ? ` version ${body.meta.versionId}` : ''}`)));
    return;
  }
  res.status(status).type(answerType ?? FHIR_JSON).send(stringifyKeepingSpellings(body));
}

/**
 * FHIR's `Prefer: return=` (R4 §3.1.0.8.2, RFC 7240) on a create or update: `minimal` (no body: Location and
 * ETag say what was written), `OperationOutcome`, or the resource (`representation`, the default). Searches,
 * operations and transactions always answer their result.
 */
function preferredReturn(req: Request, status: number, body: Resource): 'minimal' | 'OperationOutcome' | 'representation' {
  const prefer = req.header('prefer');
  if (!prefer || (req.method !== 'POST' && req.method !== 'PUT') || (status !== 200 && status !== 201)) return 'representation';
  if (body.resourceType === 'Bundle' || body.resourceType === 'OperationOutcome' || body.resourceType === 'Parameters') return 'representation';
  if (req.path.endsWith('/_search') || req.path.includes('/$')) return 'representation';
  const m = /(?:^|[\s,;])return\s*=\s*"?(minimal|representation|OperationOutcome)"?/i.exec(prefer);
  const value = m?.[1]?.toLowerCase();
  return value === 'minimal' ? 'minimal' : value === 'operationoutcome' ? 'OperationOutcome' : 'representation';
}

/**
 * Sends a document that is not JSON (a printable PDF or HTML page) after
 * auditing the exchange; `contentType` says what it is. For FHIR clients the
 * same data stays available as JSON at its own URL.
 */
export async function respondDocument(
  req: Request,
  res: Response,
  status: number,
  body: Buffer | string,
  contentType: string,
  options: RespondOptions = {},
): Promise<void> {
  const { location, headers, ...description } = options;
  if (!(await auditBeforeAnswer(req, res, status, description))) return;
  if (location) res.setHeader('Location', location);
  for (const [k, v] of Object.entries(headers ?? {})) res.setHeader(k, v);
  res.status(status).type(contentType).send(body);
}

/** Sends plain JSON that is not a FHIR resource (reports, OAuth token responses), audited the same way. */
export async function respondJson(req: Request, res: Response, status: number, body: unknown, options: RespondOptions = {}): Promise<void> {
  const { location, headers, ...description } = options;
  if (!(await auditBeforeAnswer(req, res, status, description))) return;
  if (location) res.setHeader('Location', location);
  for (const [k, v] of Object.entries(headers ?? {})) res.setHeader(k, v);
  res.status(status).json(body);
}

/** Sends text in a given media type (a signed checkpoint, a verifier key, CSV), audited the same way. */
export async function respondText(req: Request, res: Response, status: number, contentType: string, body: string, options: RespondOptions = {}): Promise<void> {
  const { location, headers, ...description } = options;
  if (!(await auditBeforeAnswer(req, res, status, description))) return;
  if (location) res.setHeader('Location', location);
  for (const [k, v] of Object.entries(headers ?? {})) res.setHeader(k, v);
  res.status(status).type(contentType).send(body);
}

function sendOutcome(res: Response, status: number, outcome: OperationOutcome): void {
  if (res.headersSent) return;
  res.status(status).type(answerTypeOf(res.req) ?? FHIR_JSON).send(JSON.stringify(outcome));
}

/** Wraps an async route handler so rejections reach the error handler (Express 5 does this too; explicit for clarity). */
export function handler(fn: (req: Request, res: Response) => Promise<void>): RequestHandler {
  // Marks on `fn` (the CapabilityStatement a metadata handler answers) stay readable on the route.
  return Object.assign((req: Request, res: Response, next: NextFunction) => {
    fn(req, res).catch(next);
  }, fn);
}

/** 404 for any path no route matched, as an OperationOutcome. */
export const notFoundHandler: RequestHandler = (req, _res, next) => {
  next(notFound(`No route for ${req.method} ${req.path}`));
};

interface BodyParserError {
  type?: string;
  status?: number;
  expose?: boolean;
}

/** Maps anything thrown to an OperationOutcomeError; unknown errors become a generic 500 with no detail. */
export function toOutcomeError(err: unknown): OperationOutcomeError {
  if (isOperationOutcomeError(err)) return err;
  const e = err as BodyParserError;
  switch (e?.type) {
    case 'entity.parse.failed':
      return badRequest('Request body is not valid JSON');
    case 'entity.too.large':
      return tooLarge('The request body is larger than this endpoint takes');
    case 'parameters.too.many':
      // A form body past the form parser's 1,000 parameters: no search takes that many.
      return tooLarge('The form has more than 1,000 parameters');
    case 'encoding.unsupported':
    case 'charset.unsupported':
      return unsupportedMediaType('Unsupported body encoding or charset');
    case 'request.aborted':
      return badRequest('Request was aborted by the client');
    default:
      break;
  }
  if (typeof e?.status === 'number' && e.status >= 400 && e.status < 500 && e.expose) {
    // e.g. a gzip or br body whose bytes do not decode, or fewer bytes than Content-Length promised.
    return badRequest('The request body could not be read: check that it matches its Content-Encoding and Content-Length');
  }
  return internalError();
}

/** The one Express error handler: audit, log, render an OperationOutcome. Never a stack trace. */
export function fhirErrorHandler(log: Logger): ErrorRequestHandler {
  return (err: unknown, req: Request, res: Response, _next: NextFunction) => {
    const outcomeError = toOutcomeError(err);
    if (outcomeError.status < 500) {
      log.info({ requestId: requestIdOf(res), status: outcomeError.status, reason: outcomeError.message }, 'request refused');
    } else if (isOperationOutcomeError(err)) {
      // A 5xx the code chose to answer (a dependency unavailable, a simulated outage): a warning, not a stack trace.
      log.warn({ requestId: requestIdOf(res), status: outcomeError.status, reason: outcomeError.message }, 'request not served');
    } else {
      log.error({ err, requestId: requestIdOf(res), path: req.path }, 'unhandled error');
    }
    // A 401 raised past the access-token middleware (a delivery token refused) still names its scheme.
    if (outcomeError.status === 401 && !res.headersSent && !res.hasHeader('WWW-Authenticate')) res.setHeader('WWW-Authenticate', BEARER_CHALLENGE);
    const text = outcomeError.outcome.issue[0]?.details?.text;
    auditExchange(req, res, auditSinkOf(res), outcomeError.status, text)
      .then(() => sendOutcome(res, outcomeError.status, outcomeError.outcome))
      .catch((auditErr: unknown) => {
        log.error({ err: auditErr, requestId: requestIdOf(res) }, 'audit write failed for a refused request');
        const failure = unavailable('The exchange could not be recorded in the audit trail; please retry');
        sendOutcome(res, failure.status, failure.outcome);
      });
  };
}

/**
 * Starts a streamed answer (an NDJSON export of any size) after auditing the exchange: the
 * record says what was asked, then the caller writes the body in chunks (`writeChunk`) and ends
 * it. False when the audit write failed (a 503 has been sent instead).
 */
export async function startAuditedStream(req: Request, res: Response, status: number, contentType: string, options: RespondOptions = {}): Promise<boolean> {
  const { headers, ...description } = options;
  if (!(await auditBeforeAnswer(req, res, status, description))) return false;
  for (const [k, v] of Object.entries(headers ?? {})) res.setHeader(k, v);
  res.status(status).type(contentType);
  return true;
}

/** Writes one chunk of a streamed answer, waiting while the client is slow (bounded memory); false once the client has gone. */
export async function writeChunk(res: Response, chunk: string): Promise<boolean> {
  if (res.destroyed || res.writableEnded) return false;
  if (res.write(chunk)) return true;
  return new Promise<boolean>((resolve) => {
    const done = (ok: boolean) => {
      res.off('drain', onDrain);
      res.off('close', onClose);
      resolve(ok);
    };
    const onDrain = () => done(true);
    const onClose = () => done(false);
    res.once('drain', onDrain);
    res.once('close', onClose);
  });
}
