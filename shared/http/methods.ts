/**
 * Which HTTP methods a path answers, for every service at once: `OPTIONS` is
 * answered with the allowed methods (`Allow`, an informational
 * OperationOutcome, audited), and a method no route takes on a path that
 * other methods do take is refused with 405 and `Allow` instead of 404.
 *
 * The methods are read from the app's own router with the router's own
 * matching (`layer.match`, `route._methods()`) — what Express itself does for
 * its built-in OPTIONS reply (which answers text/plain and unaudited, so the
 * shell answers OPTIONS before the routes). No route table is kept twice.
 */
import type { Application, NextFunction, Request, RequestHandler, Response } from 'express';
import { recordSentMethod } from '../fhir/exchange-context.js';
import { respond } from '../fhir/express.js';
import { informational, interactionNotSupported, methodNotAllowed, notFound, type OperationOutcomeError } from '../fhir/outcome.js';
import { parametersAsQuery } from '../fhir/parameters.js';
import { servesConditionalCreate, servesIfNoneMatch } from '../fhir/request-rules.js';

/**
 * The parts of Express 5's router (package `router` 2.x) read here and by
 * tests that list every route; its published types predate them.
 */
export interface RouteView {
  readonly path: string | string[];
  /** The route's handlers, in order. */
  readonly stack?: ReadonlyArray<{ readonly handle: unknown }>;
  _methods(): string[];
}
export interface LayerView {
  readonly route?: RouteView;
  readonly handle: unknown;
  match(path: string): false | { readonly path: string };
}
export interface RouterView {
  readonly stack: readonly LayerView[];
}

/** The app's router, seen through `RouterView`. */
export function routerOf(app: Application): RouterView {
  return app.router as unknown as RouterView;
}

/** Methods routed on `path` (upper case, sorted; HEAD where GET is; POST where a reading operation is), plus OPTIONS when there are any. */
export function allowedMethods(app: Application, path: string): string[] {
  return routedMethods(app, path).methods;
}

/**
 * The methods routed on `path`, and whether they are an operation's own: on
 * `/fhir/Patient/$match` the `:id` routes beside the operation match too, but
 * a `GET` there is a method `$match` does not take, not a read of a Patient
 * whose id is "$match" (FHIR ids cannot start with `$`). So where routes name
 * the operation itself, only theirs count.
 */
function routedMethods(app: Application, path: string): RoutedMethods {
  const last = lastSegment(path);
  const any = new Set<string>();
  const operation = new Set<string>();
  collect(routerOf(app), path, any, isNamedSegment(last) ? { name: last, found: operation } : undefined);
  const found = operation.size > 0 ? operation : any;
  // The FHIR base of a FHIR server (one that answers `GET /fhir/metadata`) is a path it serves even where it takes no
  // batch or transaction there: OPTIONS is answered (it was a 404 at every base but the MPI's), other methods a 405.
  if (found.size > 0 || (isFhirBase(path) && collectsGet(app, '/fhir/metadata'))) found.add('OPTIONS');
  // A reading operation routed as GET is served by POST too (`runPostedAsGet`): `Allow` says so.
  const postedAsGet = operation.has('GET') && !operation.has('POST');
  if (postedAsGet) found.add('POST');
  return { methods: [...found].sort(), operation: operation.size > 0, postedAsGet };
}

/** `/fhir` or `/fhir/`: the FHIR base. */
function isFhirBase(path: string): boolean {
  return path === '/fhir' || path === '/fhir/';
}

function collectsGet(app: Application, path: string): boolean {
  const methods = new Set<string>();
  collect(routerOf(app), path, methods, undefined);
  return methods.has('GET');
}

interface RoutedMethods {
  readonly methods: string[];
  readonly operation: boolean;
  readonly postedAsGet: boolean;
}

/** What `routedMethods` said for a request's path (the handlers before and after its body is read ask the same). */
const routedForRequest = new WeakMap<Request, { readonly path: string; readonly routed: RoutedMethods }>();

/**
 * `routedMethods` of the request's app and path, worked out once per request: a POST to an operation was looked up
 * before its body was read (`operationMethodHandler`) and again after it (`postedAsGetHandler`) — a walk of the whole
 * router, matching every layer, each time. Worked out again only if the request's path changed in between.
 */
function routedMethodsOf(req: Request): RoutedMethods {
  const path = req.path;
  const known = routedForRequest.get(req);
  if (known?.path === path) return known.routed;
  const routed = routedMethods(req.app, path);
  routedForRequest.set(req, { path, routed });
  return routed;
}

/**
 * A last path segment that names what the path is and is never an id: an operation (`$match`) or `_search`
 * (FHIR ids are `[A-Za-z0-9\-.]{1,64}`: no `$`, no `_`). A method its own routes do not take there is a 405,
 * not a read or update of a resource called "_search".
 */
function isNamedSegment(segment: string): boolean {
  return segment.startsWith('$') || segment === '_search';
}

function lastSegment(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}

function collect(router: RouterView, path: string, found: Set<string>, operation?: { name: string; found: Set<string> }): void {
  for (const route of routesAt(router, path)) {
    const methods = route._methods();
    for (const method of methods) found.add(method);
    if (operation && typeof route.path === 'string' && lastSegment(route.path) === operation.name) {
      for (const method of methods) operation.found.add(method);
    }
  }
}

/** Every route matching `path`, in the order the router tries them, through mounted routers too. */
export function routesAt(router: RouterView, path: string): RouteView[] {
  const routes: RouteView[] = [];
  for (const layer of router.stack) {
    let match: ReturnType<LayerView['match']>;
    try {
      match = layer.match(path);
    } catch {
      // A path the router cannot decode matches no route; the request itself is refused elsewhere.
      continue;
    }
    if (!match) continue;
    if (layer.route) {
      routes.push(layer.route);
      continue;
    }
    // A mounted router (`router.use('/fhir', resourceRoutes(…))`) sees the path without its mount point.
    const mounted = layer.handle as Partial<RouterView> | undefined;
    if (Array.isArray(mounted?.stack)) {
      const rest = path.slice(match.path.length);
      routes.push(...routesAt(mounted as RouterView, rest.startsWith('/') ? rest : `/${rest}`));
    }
  }
  return routes;
}

/** Whether the route taking `method` at `path` has a handler `marked` (request-rules.ts: a header it honours). */
function markedAt(app: Application, method: string, path: string, marked: (handler: unknown) => boolean): boolean {
  return routesAt(routerOf(app), path)
    .filter((route) => route._methods().includes(method))
    .some((route) => (route.stack ?? []).some((layer) => marked(layer.handle)));
}

/** Whether the POST route at `path` honours `If-None-Exist` (its handler is marked `servingConditionalCreate`). */
export function servesConditionalCreateAt(app: Application, path: string): boolean {
  return markedAt(app, 'POST', path, servesConditionalCreate);
}

/** Whether the route taking `method` at `path` honours `If-None-Match` on a write (marked `servingIfNoneMatch`). */
export function servesIfNoneMatchAt(app: Application, method: string, path: string): boolean {
  return markedAt(app, method, path, servesIfNoneMatch);
}

/**
 * Type- and system-level history (`GET /fhir/Organization/_history`, `GET /fhir/_history`: FHIR's `history-type` and
 * `history-system`) where no route serves it: a 400 saying the interaction is not supported and where history is
 * (`[type]/[id]/_history`, as the CapabilityStatement declares) — not the 404 of a read of a resource whose id is
 * "_history" (FHIR ids cannot hold `_`). A type no route reads is left to the 404.
 */
export function historyLevelProblem(app: Application, path: string): OperationOutcomeError | undefined {
  const match = /^\/fhir(?:\/([A-Z][A-Za-z]*))?\/_history$/.exec(path);
  if (!match) return undefined;
  const served = routesAt(routerOf(app), path).some((route) => typeof route.path === 'string' && route.path.endsWith('/_history'));
  if (served) return undefined;
  const type = match[1];
  if (type === undefined) {
    return interactionNotSupported('History of the whole server (GET /fhir/_history) is not supported here; GET /fhir/metadata lists the interactions served');
  }
  if (!allowedMethods(app, `/fhir/${type}/x`).includes('GET')) return undefined;
  const instance = allowedMethods(app, `/fhir/${type}/x/_history`).includes('GET');
  return interactionNotSupported(
    `History of every ${type} (GET /fhir/${type}/_history) is not supported here${instance ? `; each ${type}'s own is: GET /fhir/${type}/<id>/_history` : ''}. GET /fhir/metadata lists the interactions served`,
  );
}

/**
 * A batch or transaction Bundle POSTed to the FHIR base where no route takes it (FHIR's `batch` / `transaction`,
 * which only the MPI serves and declares): a 400 saying the interaction is not supported — it was a 404 "No route".
 */
export function baseBundleProblem(app: Application, method: string, path: string): OperationOutcomeError | undefined {
  if (method !== 'POST' || (path !== '/fhir' && path !== '/fhir/') || allowedMethods(app, '/fhir').includes('POST')) return undefined;
  return interactionNotSupported(
    'Batch and transaction Bundles (POST /fhir) are not supported here: send each interaction on its own. GET /fhir/metadata lists the interactions served',
  );
}

/**
 * Answers `OPTIONS` on any routed path: 200, `Allow`, and the same list as an
 * informational OperationOutcome, audited like every exchange. Needs no token:
 * it tells only what the CapabilityStatement already publishes. A path with
 * no route falls through to the 404.
 */
export const optionsHandler: RequestHandler = (req, res, next) => {
  if (req.method !== 'OPTIONS') return next();
  const allowed = allowedMethods(req.app, req.path);
  if (allowed.length === 0) return next();
  const allow = allowed.join(', ');
  const capabilities = isFhirBase(req.path) ? '; what this FHIR server serves: GET /fhir/metadata' : '';
  respond(req, res, 200, informational(`Allowed methods on ${req.path}: ${allow}${capabilities}`), {
    action: 'R',
    subtype: 'options',
    headers: { Allow: allow },
  }).catch(next);
};

/**
 * Before the routes: a method an operation does not take (`GET
 * /fhir/Patient/$match`, where only POST is served) is a 405 with `Allow` —
 * without this the `:id` read route beside it would answer 404 for a Patient
 * called "$match".
 */
export const operationMethodHandler: RequestHandler = (req, res, next) => {
  if (req.method === 'OPTIONS' || !isNamedSegment(lastSegment(req.path))) return next();
  const { methods, operation } = routedMethodsOf(req);
  if (!operation || methods.includes(req.method)) return next();
  refuseMethod(req.method, req.path, methods, res, next);
};

/** After the body is read: a POST to a reading operation (routed as GET) is served as that GET (`runPostedAsGet`). */
export const postedAsGetHandler: RequestHandler = (req, res, next) => {
  if (req.method !== 'POST' || !lastSegment(req.path).startsWith('$')) return next();
  if (routedMethodsOf(req).postedAsGet) return next(runPostedAsGet(req, res));
  next();
};

/**
 * FHIR R4 (operations.html §2.1.0.1): every operation may be invoked by POST with a Parameters body; one that
 * changes nothing may also be invoked by GET, which is all the hub's reading operations route. So a POST
 * there is served as that GET, with the body's parameters added to the URL's (shared/fhir/parameters.ts), and
 * audited as the POST it was. Undefined when the request now goes on as a GET; the refusal otherwise.
 */
function runPostedAsGet(req: Request, res: Response): OperationOutcomeError | undefined {
  let query: URLSearchParams;
  try {
    query = parametersAsQuery(req.body, lastSegment(req.path));
  } catch (err) {
    return err as OperationOutcomeError;
  }
  const joined = (url: string) => {
    if (query.size === 0) return url;
    return `${url}${url.includes('?') ? '&' : '?'}${query.toString()}`;
  };
  recordSentMethod(res, req.method);
  req.method = 'GET';
  req.url = joined(req.url);
  req.originalUrl = joined(req.originalUrl);
  return undefined;
}

/**
 * After the routes: a request whose method no route takes, on a path other
 * methods do take, is a 405 with `Allow` (RFC 9110 §15.5.6), not a 404.
 */
export const methodNotAllowedHandler: RequestHandler = (req, res, next) => {
  const allowed = allowedMethods(req.app, req.path);
  // Nothing routed here (a 404), or a route took the method and passed (its own answer decides).
  if (allowed.length === 0 || allowed.includes(req.method)) return next();
  const slash = req.path.lastIndexOf('/');
  const last = req.path.slice(slash + 1);
  // `POST /fhir/Patient/$foo` reaches only the `:id` routes: an operation nobody serves (404), not a method `$foo` does not take.
  if (last.startsWith('$') && allowedMethods(req.app, `${req.path.slice(0, slash + 1)}x`).join() === allowed.join()) {
    return next(notFound(`Unknown operation ${last} on ${req.path.slice(0, slash) || '/'}; GET /fhir/metadata lists the operations served`));
  }
  refuseMethod(req.method, req.path, allowed, res, next);
};

function refuseMethod(method: string, path: string, allowed: readonly string[], res: Response, next: NextFunction): void {
  const allow = allowed.join(', ');
  res.setHeader('Allow', allow);
  next(methodNotAllowed(`${method} is not supported on ${path}; allowed: ${allow}`));
}
