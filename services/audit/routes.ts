/**
 * The audit service's HTTP surface, as a table of contents: path, access
 * (token + scope), handler. Every read of the log needs the auditor scope,
 * `system/AuditEvent.read` (granted to the partnership's statutory partners).
 */
import type { Router } from 'express';
import { takesQuery } from '../../shared/http/query-rules.js';
import { serviceRouter } from '../../shared/http/router.js';
import { readScope } from '../../shared/auth/scopes.js';
import { capabilityStatement } from '../../shared/fhir/capability.js';
import { handler } from '../../shared/fhir/express.js';
import { capabilitiesHandler } from '../../shared/fhir/rest/metadata.js';
import { requireAccess } from '../../shared/fhir/rest/access.js';
import type { AuditContext } from './context.js';
import { latestCheckpoint, verifierKey } from './operations/checkpoint.js';
import { consistencyProof } from './operations/consistency-proof.js';
import { inclusionProof } from './operations/inclusion-proof.js';
import { proofBundle } from './operations/proof-bundle.js';
import { auditVocabulary } from './operations/vocabulary.js';
import { AUDIT_ORDER } from './domain/audit-search.js';

const OP = 'https://fhir.infoshare.scot/OperationDefinition';

/** The auditor's scope: read-only access to the audit trail and the log. */
export const AUDITOR_SCOPE = readScope('AuditEvent');

export function auditRoutes(ctx: AuditContext): Router {
  const router = serviceRouter();
  const auditor = requireAccess(ctx.authenticate, AUDITOR_SCOPE);

  router.get('/fhir/metadata', handler(capabilitiesHandler(capability(ctx))));
  router.get('/fhir/AuditEvent/:id/$inclusion-proof', ...auditor, handler(inclusionProof(ctx)));
  router.get('/fhir/AuditEvent/:id/$proof-bundle', ...auditor, handler(proofBundle(ctx)));
  router.get('/log/checkpoint', ...auditor, takesQuery('size'), handler(latestCheckpoint(ctx)));
  router.get('/log/consistency', ...auditor, takesQuery('from', 'to'), handler(consistencyProof(ctx)));
  router.get('/log/key', ...auditor, takesQuery(), handler(verifierKey(ctx)));
  router.get('/log/vocabulary', ...auditor, takesQuery('version'), handler(auditVocabulary()));
  return router;
}

function capability(ctx: AuditContext) {
  return capabilityStatement({
    service: 'audit',
    title: 'infoshare audit (the exchange log as a verifiable Merkle log with signed checkpoints, and the maturity evidence)',
    baseUrl: ctx.baseUrl,
    resources: [
      {
        type: 'AuditEvent',
        interactions: ['read', 'search-type'],
        versioned: false,
        searchParams: [
          { name: 'date', type: 'date' },
          { name: 'agent', type: 'reference' },
          { name: 'patient', type: 'reference' },
          { name: 'outcome', type: 'token' },
          { name: 'type', type: 'token' },
          { name: 'subtype', type: 'token' },
          { name: 'criterion', type: 'token' },
          { name: 'service', type: 'token' },
        ],
        sort: AUDIT_ORDER,
        operations: [
          { name: 'export', definition: `${OP}/AuditEvent-export` },
          { name: 'inclusion-proof', definition: `${OP}/AuditEvent-inclusion-proof` },
          { name: 'proof-bundle', definition: `${OP}/AuditEvent-proof-bundle` },
        ],
      },
      // Documentary evidence auditors attach to the maturity report's documentary cells.
      { type: 'DocumentReference', interactions: ['read', 'search-type', 'create'], versioned: false },
    ],
  });
}
