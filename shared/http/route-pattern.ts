import type { Request } from 'express';

/**
 * The pattern of the route that matched (`/fhir/Patient/:id`), or undefined when none did (yet).
 * Labels and audit subtypes use the pattern, never the raw path, so they stay few. Express types
 * `req.route` as `any`; this is the one place that reads it.
 */
export function routePatternOf(req: Request): string | undefined {
  const route: unknown = req.route;
  const path = typeof route === 'object' && route !== null ? (route as { path?: unknown }).path : undefined;
  return typeof path === 'string' ? path : undefined;
}
