/**
 * The evidence side of the audit service's HTTP surface (search, export, the maturity report,
 * documentary evidence, the auditor's page, performance). Mounted by `routes.ts`.
 * Every read needs the auditor scope `system/AuditEvent.read`; attaching documentary evidence
 * needs `system/AuditEvent.attest`. The page shell and its script carry no data.
 */
import type { Router } from 'express';
import { serviceRouter } from '../../shared/http/router.js';
import { HubScopes, readScope } from '../../shared/auth/scopes.js';
import { handler } from '../../shared/fhir/express.js';
import { requireAccess } from '../../shared/fhir/rest/access.js';
import type { EvidenceContext } from './evidence-context.js';
import { attachDocument, listDocuments, readDocument } from './operations/documentary.js';
import { evidenceReport } from './operations/evidence.js';
import { exportAuditEvents } from './operations/export.js';
import { cellHandler, logHandler, overviewHandler, pageScriptHandler, pageShellHandler, performancePanelHandler } from './operations/page.js';
import { performanceReport } from './operations/performance.js';
import { readAuditEvent, searchAuditEvents } from './operations/search.js';

/** The auditor scope: read-only access to the log, the report and the page's data. */
export const AUDITOR_SCOPE = readScope('AuditEvent');

export function evidenceRoutes(ctx: EvidenceContext): Router {
  const router = serviceRouter();
  const auditor = requireAccess(ctx.authenticate, AUDITOR_SCOPE);
  router.get('/', handler(pageShellHandler()));
  router.get('/page/app.js', handler(pageScriptHandler()));
  router.get('/page/overview', ...auditor, handler(overviewHandler(ctx)));
  router.get('/page/cell/:code', ...auditor, handler(cellHandler(ctx)));
  router.get('/page/log', ...auditor, handler(logHandler(ctx)));
  router.get('/page/performance', ...auditor, handler(performancePanelHandler(ctx)));
  router.get('/evidence', ...auditor, handler(evidenceReport(ctx)));
  router.get('/performance', ...auditor, handler(performanceReport(ctx)));
  router.get('/fhir/AuditEvent', ...auditor, handler(searchAuditEvents(ctx)));
  router.post('/fhir/AuditEvent/_search', ...auditor, handler(searchAuditEvents(ctx)));
  router.get('/fhir/AuditEvent/$export', ...auditor, handler(exportAuditEvents(ctx)));
  router.get('/fhir/AuditEvent/:id', ...auditor, handler(readAuditEvent(ctx)));
  router.get('/fhir/DocumentReference', ...auditor, handler(listDocuments(ctx)));
  router.post('/fhir/DocumentReference/_search', ...auditor, handler(listDocuments(ctx)));
  router.post('/fhir/DocumentReference', ...requireAccess(ctx.authenticate, AUDITOR_SCOPE, HubScopes.evidenceAttest), handler(attachDocument(ctx)));
  router.get('/fhir/DocumentReference/:id', ...auditor, handler(readDocument(ctx)));
  return router;
}
