/**
 * Every route of a service's app, read from its own router, so that suites covering "every route"
 * (bad input, the methods each operation takes) cover a route added later without being touched.
 */
import type { Express } from 'express';
import { routerOf, type LayerView } from '../shared/http/methods.js';

export interface RouteTemplate {
  readonly method: string;
  readonly path: string;
}

/** Operational probes for load balancers and Prometheus: answered on every service, not FHIR exchanges, not audited. */
const PROBES = new Set(['/health', '/ready', '/metrics']);

/** Every route of an app as `METHOD /path/:param` (mounted routers included; probes left out). */
export function routeTemplates(app: Express): RouteTemplate[] {
  const found: RouteTemplate[] = [];
  const walk = (stack: readonly LayerView[], prefix: string) => {
    for (const layer of stack) {
      if (layer.route) {
        const paths = Array.isArray(layer.route.path) ? layer.route.path : [layer.route.path];
        for (const method of layer.route._methods()) {
          const m = method.toUpperCase();
          if (m === 'HEAD' || m === 'OPTIONS' || m === '_ALL') continue;
          for (const p of paths) if (!PROBES.has(`${prefix}${p}`)) found.push({ method: m, path: `${prefix}${p}` });
        }
        continue;
      }
      const nested = (layer.handle as { stack?: readonly LayerView[] } | undefined)?.stack;
      if (!Array.isArray(nested)) continue;
      // The mount point is not kept on the layer; the routers here are mounted at the root or at /fhir.
      const probe = layer.match('/fhir');
      if (!probe) throw new Error('A router is mounted at a path this test does not know; teach routeTemplates about it');
      walk(nested, `${prefix}${probe.path}`);
    }
  };
  walk(routerOf(app).stack, '');
  return found;
}
