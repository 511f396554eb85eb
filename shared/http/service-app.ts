/**
 * The Express shell every service shares: request ids, JSON logs, metrics,
 * `/health`, `/ready`, `/metrics`, the input guard on every URL and body
 * (`./input-guard.ts`), FHIR body parsing, OPTIONS and 405 for every path
 * (`./methods.ts`), and the OperationOutcome error handler. A service's
 * `createApp(deps)` calls this and mounts its routes.
 */
import { randomUUID } from 'node:crypto';
import express, { type Express, type Router } from 'express';
import type { Redis } from 'ioredis';
import type { AuditSink } from '../audit/exchange.js';
import { smartConfiguration, type SmartEndpoints } from '../auth/smart-configuration.js';
import type { ServiceName } from '../config.js';
import { fhirBodyParser, fhirErrorHandler, handler, keepRawBody, notFoundHandler, respondJson } from '../fhir/express.js';
import { describeExchange, startExchange } from '../fhir/exchange-context.js';
import {
  acceptProblem,
  conditionalCreateProblem,
  formatParamProblem,
  formatParams,
  instanceReadQueryProblem,
  metadataQueryProblem,
  ifNoneMatchWriteProblem,
  isFhirPath,
  repeatedFormatProblem,
} from '../fhir/request-rules.js';
import { badRequest } from '../fhir/outcome.js';
import { prefersLenientSearch } from '../fhir/rest/search-query.js';
import type { Logger } from '../log.js';
import { isRedisReady } from '../redis/connection.js';
import { boundUnreadBody, hasBody } from './body-limits.js';
import { expectationProblem, hostProblem, repeatedHeaderProblem } from './header-rules.js';
import { ifNoneExistProblem, urlProblem } from './input-guard.js';
import { withOperationDollar } from './operation-path.js';
import { compartmentSearchProblem } from './compartment.js';
import { baseBundleProblem, historyLevelProblem, methodNotAllowedHandler, operationMethodHandler, optionsHandler, postedAsGetHandler, servesConditionalCreateAt, servesIfNoneMatchAt } from './methods.js';
import { assertCaseSensitive } from './router.js';
import { takesQuery } from './query-rules.js';
import { inSeries } from './series.js';
import { createServiceMetrics, metricsMiddleware, type ServiceMetrics } from './metrics.js';

export interface ServiceAppOptions {
  readonly service: ServiceName;
  readonly redis: Redis;
  readonly audit: AuditSink;
  readonly log: Logger;
  readonly bodyLimit: string;
  /** Exact paths that accept larger bodies (bulk loads, e.g. the transaction endpoint `/fhir`), with their limit. */
  readonly largeBodyPaths?: ReadonlyArray<{ path: string; limit: string }>;
  /** Paths whose exact body bytes the routes read with `rawBodyOf` (a signature or digest over the body). */
  readonly rawBodyPaths?: RegExp;
  readonly metrics?: ServiceMetrics;
  /** Extra readiness checks beyond Redis (e.g. the directory's signing key loaded). */
  readonly readinessChecks?: ReadonlyArray<() => Promise<boolean>>;
  /** The service's routes (made with `serviceRouter`), mounted after the shared middleware and before the 404/error handlers. */
  readonly routes: Router;
  /**
   * Where clients get a token (the directory's token endpoint): published at `/fhir/.well-known/smart-configuration`
   * (unless the routes serve it) and in the CapabilityStatement's `rest.security` (shared/fhir/rest/metadata.ts).
   */
  readonly smart?: SmartEndpoints;
}

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

export function createServiceApp(options: ServiceAppOptions): Express {
  assertCaseSensitive(options.routes);
  const app = express();
  // FHIR paths are case-sensitive: `/FHIR/metadata` and `/fhir/organization` are no route (router.ts).
  app.set('case sensitive routing', true);
  const metrics = options.metrics ?? createServiceMetrics(options.service);
  app.disable('x-powered-by');
  app.set('trust proxy', 'loopback');
  app.locals.audit = options.audit;
  app.locals.log = options.log;
  app.locals.metrics = metrics;
  app.locals.smart = options.smart;

  // The shell's steps in order as ONE layer of the router (series.ts: each layer is garbage and CPU on every request).
  app.use(
    inSeries(
      (req, res, next) => {
        const given = req.header('x-request-id');
        const requestId = given && REQUEST_ID.test(given) ? given : randomUUID();
        res.setHeader('X-Request-Id', requestId);
        startExchange(res, options.service, requestId);
        // What is read of a body the answer leaves unread (a 413, a refusal before the body): bounded (body-limits.ts).
        if (hasBody(req)) boundUnreadBody(req, res);
        next();
      },
      metricsMiddleware(metrics),
      // Before any router decodes the path or query: refused, never decoded lossily (input-guard.ts). Then `%24match`
      // routes as the operation `$match` (operation-path.ts).
      (req, _res, next) => {
        const problem = urlProblem(req.originalUrl);
        if (!problem) req.url = withOperationDollar(req.url);
        next(problem ? badRequest(problem) : (hostProblem(req) ?? repeatedHeaderProblem(req) ?? expectationProblem(req.header('expect'))));
      },
      // What the FHIR API does not serve is refused, never ignored: `_format=xml` / `Accept: application/fhir+xml` (406, not
      // JSON the client did not ask for), If-None-Exist (400, not a duplicate), type- and system-level `_history` and
      // batch/transaction Bundles where unserved (methods.ts), compartment searches (compartment.ts), `_history` parameters
      // (request-rules.ts).
      (req, _res, next) => {
        if (!isFhirPath(req.path)) return next();
        const formats = formatParams(req.originalUrl);
        // Whether the route serves conditional create is a walk of the router: asked only of a POST that sends If-None-Exist.
        const ifNoneExist = req.header('if-none-exist');
        const ifNoneMatch = req.method === 'GET' || req.method === 'HEAD' ? undefined : req.header('if-none-match');
        const criteriaProblem = req.method === 'POST' ? ifNoneExistProblem(ifNoneExist) : undefined;
        next(
          repeatedFormatProblem(formats) ??
            formatParamProblem(formats) ??
            (formats.length === 0 ? acceptProblem(req.header('accept')) : undefined) ??
            conditionalCreateProblem(req.method, ifNoneExist, req.method === 'POST' && ifNoneExist !== undefined && servesConditionalCreateAt(req.app, req.path)) ??
            (criteriaProblem ? badRequest(criteriaProblem, 'If-None-Exist') : undefined) ??
            ifNoneMatchWriteProblem(req.method, ifNoneMatch, ifNoneMatch !== undefined && servesIfNoneMatchAt(req.app, req.method, req.path)) ??
            baseBundleProblem(req.app, req.method, req.path) ??
            compartmentSearchProblem(req.app, req.method, req.path) ??
            (req.method === 'GET' || req.method === 'HEAD' ? (historyLevelProblem(req.app, req.path) ??
                instanceReadQueryProblem(req.path, req.originalUrl, prefersLenientSearch(req)) ??
                metadataQueryProblem(req.path, req.originalUrl, prefersLenientSearch(req))) : undefined),
        );
      },
      // Before the routes: Express would otherwise answer OPTIONS itself, in text/plain and unaudited.
      optionsHandler,
      // Before the body is read: a method an operation or `_search` does not take is a 405 (not a 415 about its body).
      operationMethodHandler,
    ),
  );

  app.get('/health', (_req, res) => {
    res.json({ status: 'ok', service: options.service });
  });
  app.get('/ready', async (_req, res) => {
    const checks = [() => isRedisReady(options.redis), ...(options.readinessChecks ?? [])];
    const results = await Promise.all(checks.map((c) => c().catch(() => false)));
    const ready = results.every(Boolean);
    res.status(ready ? 200 : 503).json({ status: ready ? 'ready' : 'not ready', service: options.service, redis: results[0] });
  });
  app.get('/metrics', async (_req, res) => {
    res.type(metrics.registry.contentType).send(await metrics.registry.metrics());
  });

  const { rawBodyPaths } = options;
  if (rawBodyPaths) {
    app.use((req, _res, next) => {
      if (rawBodyPaths.test(req.path)) keepRawBody(req);
      next();
    });
  }
  for (const large of options.largeBodyPaths ?? []) {
    const parsers = fhirBodyParser(large.limit);
    app.use((req, res, next) => {
      if (req.path !== large.path) return next();
      // Run the parsers in order; the default-limit parser after them then sees a body already read.
      const run = (i: number): void => {
        const parser = parsers[i];
        if (!parser) return next();
        parser(req, res, (err?: unknown) => (err ? next(err) : run(i + 1)));
      };
      run(0);
    });
  }
  app.use(inSeries(...fhirBodyParser(options.bodyLimit), postedAsGetHandler));
  app.use(options.routes);
  const { smart } = options;
  if (smart) {
    // SMART App Launch 2: every FHIR base that needs a token says where to get one; the directory, which issues
    // them, serves its own document (with the scopes) from its routes above.
    const discovery = smartConfiguration(smart);
    app.get(
      '/fhir/.well-known/smart-configuration',
      takesQuery(),
      handler(async (req, res) => {
        describeExchange(res, { subtype: 'smart-configuration', action: 'R' });
        await respondJson(req, res, 200, discovery);
      }),
    );
  }
  app.use(methodNotAllowedHandler);
  app.use(notFoundHandler);
  app.use(fhirErrorHandler(options.log));
  return app;
}
