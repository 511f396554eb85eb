/**
 * The directory's HTTP surface, as a table of contents: path, access (token +
 * scope), handler. Operations live one per file in `operations/`.
 *
 * The FHIR resources get the generic REST interactions
 * (shared/fhir/rest/resource-routes.ts: read, vread, `_history`, search with
 * `system/<Type>.read`; create, update with `system/<Type>.write`), each type
 * with its own rules from `operations/<type>.ts`.
 */
import type { Router } from 'express';
import { takesQuery } from '../../shared/http/query-rules.js';
import { serviceRouter } from '../../shared/http/router.js';
import { HubScopes, readScope } from '../../shared/auth/scopes.js';
import { handler } from '../../shared/fhir/express.js';
import { requireAccess } from '../../shared/fhir/rest/access.js';
import { resourceRoutes } from '../../shared/fhir/rest/resource-routes.js';
import type { DirectoryContext } from './context.js';
import { careTeamRules } from './operations/care-team.js';
import { signContract } from './operations/contract-sign.js';
import { verifyContract } from './operations/contract-verify.js';
import { contractRules } from './operations/contract.js';
import { smartDiscovery } from './operations/discovery.js';
import { jwks } from './operations/jwks.js';
import { metadata } from './operations/metadata.js';
import { organizationRules } from './operations/organization.js';
import { ownRecordsOnly } from './operations/own-records.js';
import { practitionerRoleRules } from './operations/practitioner-role.js';
import { issueToken } from './operations/token.js';

export function directoryRoutes(ctx: DirectoryContext): Router {
  const router = serviceRouter();
  const access = (...scopes: string[]) => requireAccess(ctx.authenticate, ...scopes);
  const rest = { store: ctx.store, baseUrl: ctx.fhirBase, authenticate: ctx.authenticate, validation: ctx.validation };

  // How to get a token, and the token itself: no token needed.
  router.post('/auth/token', handler(issueToken(ctx)));
  router.get('/auth/jwks.json', takesQuery(), handler(jwks(ctx)));
  router.get(['/.well-known/smart-configuration', '/fhir/.well-known/smart-configuration'], takesQuery(), handler(smartDiscovery(ctx)));
  router.get('/fhir/metadata', handler(metadata(ctx)));

  // The signed ISP.
  router.post('/fhir/Contract/:id/$sign', ...access(HubScopes.contractSign), handler(signContract(ctx)));
  router.get('/fhir/Contract/:id/$verify', ...access(readScope('Contract')), handler(verifyContract(ctx)));

  // FHIR resources: generic REST, each type's rules.
  router.use('/fhir', resourceRoutes({ ...rest, type: 'Organization', ...organizationRules() }));
  router.use('/fhir', resourceRoutes({ ...rest, type: 'Endpoint', prepareWrite: ownRecordsOnly(ctx) }));
  router.use('/fhir', resourceRoutes({ ...rest, type: 'Practitioner' }));
  router.use('/fhir', resourceRoutes({ ...rest, type: 'PractitionerRole', ...practitionerRoleRules(ctx) }));
  router.use('/fhir', resourceRoutes({ ...rest, type: 'CareTeam', ...careTeamRules(ctx) }));
  router.use('/fhir', resourceRoutes({ ...rest, type: 'Contract', ...contractRules(ctx) }));
  return router;
}

