/** Prometheus metrics for a service: one registry per app so tests and many apps in one process don't clash. */
import { collectDefaultMetrics, Counter, Histogram, Registry } from 'prom-client';
import type { RequestHandler, Response } from 'express';
import { routePatternOf } from './route-pattern.js';

export interface ServiceMetrics {
  readonly registry: Registry;
  readonly httpDuration: Histogram<'method' | 'route' | 'status'>;
  readonly exchanges: Counter<'outcome'>;
  /** Refused requests by reason: `unauthenticated` (401), `forbidden` (403), or what the refusing code named (`consent`…). */
  readonly denials: Counter<'reason'>;
}

/** Why a request about to be refused is refused, for `infoshare_access_denials_total` (e.g. `consent`); 401/403 otherwise count as unauthenticated/forbidden. */
export function markDenial(res: Response, reason: string): void {
  res.locals.denialReason = reason;
}

export function createServiceMetrics(service: string, options: { defaultMetrics?: boolean } = {}): ServiceMetrics {
  const registry = new Registry();
  registry.setDefaultLabels({ service });
  if (options.defaultMetrics) collectDefaultMetrics({ register: registry });
  const httpDuration = new Histogram({
    name: 'infoshare_http_request_duration_seconds',
    help: 'HTTP request duration by route and status',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [registry],
  });
  const exchanges = new Counter({
    name: 'infoshare_exchanges_total',
    help: 'FHIR exchanges answered, by outcome (success, refused, failed)',
    labelNames: ['outcome'] as const,
    registers: [registry],
  });
  const denials = new Counter({
    name: 'infoshare_access_denials_total',
    help: 'Requests refused by the security model or consent, by reason (unauthenticated, forbidden, consent, …)',
    labelNames: ['reason'] as const,
    registers: [registry],
  });
  return { registry, httpDuration, exchanges, denials };
}

/** Times every request; the route label is the matched route pattern, never the raw path (bounded cardinality). */
export function metricsMiddleware(metrics: ServiceMetrics): RequestHandler {
  return (req, res, next) => {
    const end = metrics.httpDuration.startTimer();
    res.on('finish', () => {
      const pattern = routePatternOf(req);
      const route = pattern ? `${req.baseUrl}${pattern}` : 'unmatched';
      end({ method: req.method, route, status: String(res.statusCode) });
      if (req.path.startsWith('/fhir') || req.path.startsWith('/auth')) {
        const outcome = res.statusCode < 400 ? 'success' : res.statusCode < 500 ? 'refused' : 'failed';
        metrics.exchanges.inc({ outcome });
      }
      const marked = res.locals.denialReason as string | undefined;
      if (marked && res.statusCode >= 400) metrics.denials.inc({ reason: marked });
      else if (res.statusCode === 401 || res.statusCode === 403) metrics.denials.inc({ reason: res.statusCode === 401 ? 'unauthenticated' : 'forbidden' });
    });
    next();
  };
}
