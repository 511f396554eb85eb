/**
 * The MPI's HTTP surface, as a table of contents: path, access (token + scope),
 * handler. Operations live one per file in `operations/`.
 */
import type { CapabilityStatement } from 'fhir/r4.js';
import type { Request, Response, Router } from 'express';
import { takesQuery } from '../../shared/http/query-rules.js';
import { serviceRouter } from '../../shared/http/router.js';
import { HubScopes, readScope, writeScope } from '../../shared/auth/scopes.js';
import { capabilityStatement } from '../../shared/fhir/capability.js';
import { handler } from '../../shared/fhir/express.js';
import { capabilitiesHandler, declaring } from '../../shared/fhir/rest/metadata.js';
import { requireAccess } from '../../shared/fhir/rest/access.js';
import { resourceRoutes } from '../../shared/fhir/rest/resource-routes.js';
import { searchParamSummary } from '../../shared/store/search-params.js';
import type { MpiContext } from './context.js';
import { MPI_RESOURCE_TYPES } from './resource-types.js';
import { describeModel } from './domain/model-version.js';
import { asyncStatus, cancelAsync } from './operations/async-status.js';
import { estimateModel } from './operations/estimate.js';
import { matchPatient } from './operations/match.js';
import { pixQuery } from './operations/pix.js';
import { patientHistory, readPatient, readPerson, vreadPatient } from './operations/read.js';
import { registerPatient } from './operations/register.js';
import { reclusterEndpoint } from './operations/recluster.js';
import { reportEndpoint } from './operations/report.js';
import { reviewView } from './operations/review-view.js';
import { mergePersons, resolveReview, resolveReviews, unlinkRecord } from './operations/review.js';
import { searchPatients, searchPersons } from './operations/search.js';
import { transaction } from './operations/transaction.js';
import { updatePatient } from './operations/update.js';
import { idOrder } from '../../shared/store/search-plan.js';

const OP = 'https://fhir.infoshare.scot/OperationDefinition';

export function mpiRoutes(ctx: MpiContext): Router {
  const router = serviceRouter();
  const access = (...scopes: string[]) => requireAccess(ctx.authenticate, ...scopes);
  const patientRead = access(readScope('Patient'));

  const statement = capability(ctx);
  // The statement names the matching model in use, which a re-estimation changes: read per request (one GET).
  router.get(
    '/fhir/metadata',
    handler(
      declaring(statement, async (req: Request, res: Response) => {
        const inUse = await ctx.models.current();
        await capabilitiesHandler(withModelInUse(statement, describeModel(inUse.summary)))(req, res);
      }),
    ),
  );
  router.post('/fhir', ...access(writeScope('Patient')), handler(transaction(ctx)));
  router.post('/fhir/$estimate-model', ...access(HubScopes.matchingModel), handler(estimateModel(ctx)));
  router.get('/fhir/_async/:id', ...access(writeScope('Patient')), handler(asyncStatus(ctx.registrations)));
  router.delete('/fhir/_async/:id', ...access(writeScope('Patient')), handler(cancelAsync(ctx.registrations)));
  router.post('/fhir/Patient/$match', ...patientRead, handler(matchPatient(ctx)));
  router.get('/fhir/Patient/$ihe-pix', ...patientRead, handler(pixQuery(ctx)));
  router.get('/fhir/Patient', ...patientRead, handler(searchPatients(ctx)));
  router.post('/fhir/Patient/_search', ...patientRead, handler(searchPatients(ctx)));
  router.post('/fhir/Patient', ...access(writeScope('Patient')), handler(registerPatient(ctx)));
  router.put('/fhir/Patient', ...access(writeScope('Patient')), handler(updatePatient(ctx)));
  router.get('/fhir/Patient/:id', ...patientRead, handler(readPatient(ctx)));
  router.put('/fhir/Patient/:id', ...access(writeScope('Patient')), handler(updatePatient(ctx)));
  router.get('/fhir/Patient/:id/_history', ...patientRead, handler(patientHistory(ctx)));
  router.get('/fhir/Patient/:id/_history/:vid', ...patientRead, handler(vreadPatient(ctx)));
  router.post('/fhir/Patient/:id/$unlink', ...access(HubScopes.taskReview), handler(unlinkRecord(ctx)));
  router.post('/fhir/Person/$merge', ...access(writeScope('Person'), HubScopes.taskReview), handler(mergePersons(ctx)));
  router.get('/fhir/Person', ...access(readScope('Person')), handler(searchPersons(ctx)));
  router.post('/fhir/Person/_search', ...access(readScope('Person')), handler(searchPersons(ctx)));
  router.get('/fhir/Person/:id', ...access(readScope('Person')), handler(readPerson(ctx)));
  router.post('/fhir/Task/$resolve', ...access(HubScopes.taskReview), handler(resolveReviews(ctx)));
  router.post('/fhir/Task/:id/$resolve', ...access(HubScopes.taskReview), handler(resolveReview(ctx)));
  router.get('/fhir/Task/:id/$review', ...access(HubScopes.taskReview), handler(reviewView(ctx)));
  // Review Tasks name other agencies' records (their ids carry local identifiers): reviewers only.
  router.use('/fhir/Task', ...access(HubScopes.taskReview));
  router.use(
    '/fhir',
    resourceRoutes({
      type: 'Task',
      store: ctx.tasks,
      baseUrl: ctx.baseUrl,
      authenticate: ctx.authenticate,
      validation: ctx.validation,
      interactions: ['read', 'vread', 'history-instance', 'search-type'],
      describeRead: () => ({ dataCategory: 'demographics', purpose: 'identity-matching', criteria: ['MI-L3'] }),
      describeSearch: () => ({ dataCategory: 'demographics', purpose: 'identity-matching', criteria: ['MI-L3'] }),
    }),
  );
  router.get('/matching/report', ...access(readScope('Task')), takesQuery(), handler(reportEndpoint(ctx)));
  router.post('/matching/$recluster', ...access(HubScopes.taskReview), handler(reclusterEndpoint(ctx)));
  return router;
}

/** The statement with the matching model in use said in `rest[0].documentation`. */
function withModelInUse(statement: CapabilityStatement, model: string): CapabilityStatement {
  const [rest, ...others] = statement.rest ?? [];
  return rest ? { ...statement, rest: [{ ...rest, documentation: `Records are matched with the ${model}.${rest.documentation ? ` ${rest.documentation}` : ''}` }, ...others] } : statement;
}

function capability(ctx: MpiContext) {
  return capabilityStatement({
    service: 'mpi',
    title: 'infoshare matching & indexing (cross-reference index of the people a partnership supports)',
    baseUrl: ctx.baseUrl,
    transaction: true,
    systemOperations: [{ name: 'estimate-model', definition: `${OP}/estimate-model` }],
    resources: [
      {
        type: 'Patient',
        interactions: ['create', 'update', 'read', 'vread', 'history-instance', 'search-type'],
        conditionalUpdate: true,
        searchParams: [
          { name: '_id', type: 'token' },
          { name: 'identifier', type: 'token' },
          { name: 'family', type: 'string' },
          { name: 'given', type: 'string' },
          { name: 'name', type: 'string' },
          { name: 'birthdate', type: 'date' },
          { name: 'gender', type: 'token' },
          { name: 'address-postalcode', type: 'string' },
        ],
        sort: idOrder('Patient'),
        operations: [
          { name: 'match', definition: 'http://hl7.org/fhir/OperationDefinition/Patient-match' },
          { name: 'ihe-pix', definition: 'https://profiles.ihe.net/ITI/PIXm/OperationDefinition/IHE.PIXm.pix' },
          { name: 'unlink', definition: `${OP}/Patient-unlink` },
        ],
      },
      {
        type: 'Person',
        interactions: ['read', 'search-type'],
        searchParams: [
          { name: '_id', type: 'token' },
          { name: 'link', type: 'reference' },
          { name: 'identifier', type: 'token' },
        ],
        sort: idOrder('Person'),
        operations: [{ name: 'merge', definition: `${OP}/Person-merge` }],
      },
      {
        type: 'Task',
        interactions: ['read', 'vread', 'history-instance', 'search-type'],
        // Served by the generic routes over the store: its declared parameters, `_id` and `_lastUpdated`.
        searchParams: MPI_RESOURCE_TYPES.flatMap((definition) => (definition.type === 'Task' ? searchParamSummary(definition) : [])),
        sort: idOrder('Task'),
        // At a Task, one review; at the type (`POST /fhir/Task/$resolve`), a batch, all or nothing.
        operations: [
          { name: 'resolve', definition: `${OP}/Task-resolve` },
          // Both records of a match review side by side, filtered by the ISP for the reviewer.
          { name: 'review', definition: `${OP}/Task-review` },
        ],
      },
    ],
  });
}
