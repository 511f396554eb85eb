/**
 * The Router every service declares its routes on. FHIR paths are case-sensitive (resource types,
 * operation names, ids: `/fhir/organization` is no type), while Express matches paths
 * case-insensitively unless told otherwise — so `/FHIR/Organization/_search` reached the search
 * route past the shell's FHIR rules (which read `/fhir/…`), and a JSON body there ran the search
 * unfiltered instead of being refused. The shell (service-app.ts) checks every router it mounts.
 */
import { Router } from 'express';
import type { RouterView } from './methods.js';

/** A Router matching paths case-sensitively, as FHIR reads them. */
export function serviceRouter(): Router {
  return Router({ caseSensitive: true });
}

/** Throws unless `router` and every router mounted in it were made by `serviceRouter` (checked once, at start-up). */
export function assertCaseSensitive(router: unknown): void {
  const view = router as Partial<RouterView> & { caseSensitive?: boolean };
  if (view.caseSensitive !== true) throw new Error('A service router matches paths case-insensitively: make it with serviceRouter() (shared/http/router.ts)');
  for (const layer of view.stack ?? []) {
    const mounted = layer.handle as Partial<RouterView> | undefined;
    if (Array.isArray(mounted?.stack)) assertCaseSensitive(mounted);
  }
}
