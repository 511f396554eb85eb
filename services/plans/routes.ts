/**
 * The plans service's HTTP surface, as a table of contents: path, access
 * (token + scope), handler. Operations live one per file in `operations/`;
 * every read goes through the one access check (store.ts → domain/access.ts).
 */
import type { Router } from 'express';
import { serviceRouter } from '../../shared/http/router.js';
import type { ScopeRequirement } from '../../shared/auth/middleware.js';
import { patientReadScope, patientWriteScope, readScope, writeScope } from '../../shared/auth/scopes.js';
import { capabilityStatement } from '../../shared/fhir/capability.js';
import { handler } from '../../shared/fhir/express.js';
import { requireAccess } from '../../shared/fhir/rest/access.js';
import { capabilitiesHandler } from '../../shared/fhir/rest/metadata.js';
import { searchParamSummary } from '../../shared/store/search-params.js';
import type { PlansContext } from './context.js';
import { PLANS_TYPES, type PlansType } from './domain/access.js';
import { supportedFor } from './domain/includes.js';
import { chronology } from './operations/chronology.js';
import { consentHistory, createConsent, readConsent, searchConsents, updateConsent } from './operations/consent.js';
import { diffVersions } from './operations/diff.js';
import { personAccesses } from './operations/accesses.js';
import { addMyViews } from './operations/my-views.js';
import { peerRead } from './operations/peer-read.js';
import { readResource, resourceHistory, searchResources, vreadResource } from './operations/read.js';
import { renderPlan } from './operations/render.js';
import { createResource, updateResource } from './operations/write.js';
import { PLANS_RESOURCE_TYPES } from './resource-types.js';
import { idOrder } from '../../shared/store/search-plan.js';

const OP = 'https://fhir.infoshare.scot/OperationDefinition';

export function plansRoutes(ctx: PlansContext): Router {
  const router = serviceRouter();
  const access = (...scopes: ScopeRequirement[]) => requireAccess(ctx.authenticate, ...scopes);
  // Plan reads also take another partnership's hub asking for one of its agencies (peer-plans.ts, AP-L5).
  const peerAuthenticate = ctx.peers ? ctx.peers.authenticate(ctx.authenticate) : ctx.authenticate;

  router.get('/fhir/metadata', handler(capabilitiesHandler(capability(ctx))));
  // The chronology reads every category through the one access check; reading plans is the least it needs.
  router.get('/fhir/Patient/$chronology', ...access([readScope('CarePlan'), patientReadScope('CarePlan')]), handler(chronology(ctx)));
  router.get('/fhir/Patient/:id/$chronology', ...access([readScope('CarePlan'), patientReadScope('CarePlan')]), handler(chronology(ctx)));
  // Who looked at my record, and when: the person reads it from the audit trail (PC-L5).
  router.get('/fhir/Patient/$accesses', ...access(patientReadScope('CarePlan')), handler(personAccesses(ctx)));
  // The person adds their own views to their plan (a patient token, their own plan only: PC-L4).
  router.post('/fhir/CarePlan/:id/$add-views', ...access(patientWriteScope('CarePlan')), handler(addMyViews(ctx)));
  // An agency reads a plan another partnership's hub holds, through this hub (both ISPs and the Consent decide).
  router.get('/fhir/CarePlan/$peer-read', ...access(readScope('CarePlan')), handler(peerRead(ctx)));
  router.get('/fhir/CarePlan/:id/$render', ...access([readScope('CarePlan'), patientReadScope('CarePlan')]), handler(renderPlan(ctx)));
  for (const type of PLANS_TYPES) {
    // An agency system, or the person themselves (a patient token: their own record only, decided by consent).
    const read = access([readScope(type), patientReadScope(type)]);
    const write = access(writeScope(type));
    router.get(`/fhir/${type}`, ...read, handler(searchResources(ctx, type)));
    router.post(`/fhir/${type}/_search`, ...read, handler(searchResources(ctx, type)));
    router.post(`/fhir/${type}`, ...write, handler(createResource(ctx, type)));
    router.get(`/fhir/${type}/:id/$diff`, ...read, handler(diffVersions(ctx, type)));
    router.get(`/fhir/${type}/:id/_history`, ...read, handler(resourceHistory(ctx, type)));
    router.get(`/fhir/${type}/:id/_history/:vid`, ...read, handler(vreadResource(ctx, type)));
    router.get(`/fhir/${type}/:id`, ...requireAccess(peerAuthenticate, [readScope(type), patientReadScope(type)]), handler(readResource(ctx, type)));
    router.put(`/fhir/${type}/:id`, ...write, handler(updateResource(ctx, type)));
  }
  // Consent: granted, narrowed, extended and revoked by the person's Named Person / Lead Professional (PD-L5).
  const readConsents = access([readScope('Consent'), patientReadScope('Consent')]);
  router.get('/fhir/Consent', ...readConsents, handler(searchConsents(ctx)));
  router.post('/fhir/Consent/_search', ...readConsents, handler(searchConsents(ctx)));
  router.post('/fhir/Consent', ...access(writeScope('Consent')), handler(createConsent(ctx)));
  router.get('/fhir/Consent/:id/_history', ...readConsents, handler(consentHistory(ctx)));
  router.get('/fhir/Consent/:id/_history/:vid', ...readConsents, handler(readConsent(ctx)));
  router.get('/fhir/Consent/:id', ...readConsents, handler(readConsent(ctx)));
  router.put('/fhir/Consent/:id', ...access(writeScope('Consent')), handler(updateConsent(ctx)));
  return router;
}

function capability(ctx: PlansContext) {
  return capabilityStatement({
    service: 'plans',
    title: 'infoshare plans (shared plans, assessments and requests for assistance: versions, printable latest version, chronology)',
    baseUrl: ctx.baseUrl,
    resources: [
      ...PLANS_RESOURCE_TYPES.map((definition) => ({
        type: definition.type,
        interactions: ['read', 'vread', 'history-instance', 'search-type', 'create', 'update'] as const,
        versioned: true,
        searchInclude: supportedFor(definition.type as PlansType, '_include'),
        searchRevInclude: supportedFor(definition.type as PlansType, '_revinclude'),
        // `patient` is the same search as `subject` (operations/read.ts).
        searchParams: [...searchParamSummary(definition), { name: 'subject', type: 'reference' as const }, { name: 'patient', type: 'reference' as const }],
        sort: idOrder(definition.type),
        operations: [
          { name: 'diff', definition: `${OP}/diff` },
          ...(definition.type === 'CarePlan'
            ? [
                { name: 'render', definition: `${OP}/CarePlan-render` },
                { name: 'peer-read', definition: `${OP}/CarePlan-peer-read` },
                { name: 'add-views', definition: `${OP}/CarePlan-add-views` },
              ]
            : []),
        ],
      })),
      {
        type: 'Consent',
        interactions: ['read', 'vread', 'history-instance', 'search-type', 'create', 'update'] as const,
        versioned: true,
        searchParams: [
          { name: 'patient', type: 'reference' as const },
          { name: 'status', type: 'token' as const },
        ],
        sort: idOrder('Consent'),
      },
      // The person's chronology and who read their plans are Patient operations (`/fhir/Patient/$chronology`,
      // `/fhir/Patient/<id>/$chronology`, `/fhir/Patient/$accesses`); the Patients themselves are the MPI's.
      // Declared at system level they sent a client to `/fhir/$chronology`, which is no route.
      {
        type: 'Patient',
        interactions: [],
        versioned: false,
        operations: [
          { name: 'chronology', definition: `${OP}/Patient-chronology` },
          { name: 'accesses', definition: `${OP}/Patient-accesses` },
        ],
      },
    ],
  });
}
