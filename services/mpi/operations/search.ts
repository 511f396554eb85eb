/**
 * `GET /fhir/Patient?…` and `GET /fhir/Person?…` (and `POST …/_search`,
 * form-encoded): an agency system looks up records and index Persons. Only what
 * the caller may see under the ISP is returned or counted (record-search.ts,
 * persons.ts); `_summary=count` answers the count alone.
 */
import type { Request, Response } from 'express';
import type { Resource } from 'fhir/r4.js';
import { authContext } from '../../../shared/auth/middleware.js';
import { searchsetBundle } from '../../../shared/fhir/bundle.js';
import { describeExchange } from '../../../shared/fhir/exchange-context.js';
import { respond } from '../../../shared/fhir/express.js';
import { searchQueryOf, servedSearch } from '../../../shared/fhir/rest/search-query.js';
import type { ResultParams } from '../../../shared/store/search-plan.js';
import { recordIdFor } from '../domain/from-patient.js';
import { planPatientSearch } from '../domain/patient-search.js';
import { planPersonSearch } from '../domain/person-search.js';
import { Persons } from '../persons.js';
import { searchRecords } from '../record-search.js';
import { identifierHash } from '../registration.js';
import type { MpiContext } from '../context.js';
import { REGISTRATION_EXCHANGE } from './register.js';

export function searchPatients(ctx: MpiContext) {
  return async (req: Request, res: Response): Promise<void> => {
    describeSearch(res);
    const query = searchQueryOf(req);
    const reader = authContext(res).agency;
    const partnership = await ctx.partnership.snapshot();
    const plan = await servedSearch(req, res, query, () =>
      planPatientSearch(query, {
        systemsByAgency: partnership.systemsByAgency,
        recordIdOf: (agencyId, value) => recordIdFor(agencyId, value, identifierHash),
      }),
    );
    const search = servedQuery(req, res, 'Patient', query);
    const page = await searchRecords(ctx.store, plan, {
      agencyIds: [...partnership.systemsByAgency.values()],
      mayRead: (owner) => partnership.demographicsMayFlow(owner, reader).allowed,
    });
    await answer(ctx, req, res, search, plan, page.records, page.total, 'Patient');
  };
}

export function searchPersons(ctx: MpiContext) {
  const persons = new Persons(ctx.store);
  return async (req: Request, res: Response): Promise<void> => {
    describeSearch(res);
    const query = searchQueryOf(req);
    const plan = await servedSearch(req, res, query, () => planPersonSearch(query));
    const search = servedQuery(req, res, 'Person', query);
    const found = await persons.search(plan, authContext(res).agency, await ctx.partnership.snapshot());
    await answer(ctx, req, res, search, plan, found.persons, found.total, 'Person');
  };
}

function describeSearch(res: Response): void {
  describeExchange(res, { subtype: 'search-type', action: 'E', ...REGISTRATION_EXCHANGE });
}

/** The search as served (without what `Prefer: handling=lenient` dropped): the self link, and a POST's audited query. */
function servedQuery(req: Request, res: Response, type: 'Patient' | 'Person', query: URLSearchParams): string {
  const search = `${type}${query.size > 0 ? `?${query.toString()}` : ''}`;
  // The audit shell records a GET's query itself; a POST _search's parameters are in its body.
  if (req.method === 'POST') describeExchange(res, { entities: [{ reference: search, role: 'query' }] });
  return search;
}

async function answer(
  ctx: MpiContext,
  req: Request,
  res: Response,
  search: string,
  result: ResultParams,
  resources: readonly Resource[],
  total: number,
  type: 'Patient' | 'Person',
): Promise<void> {
  const page = { resources, offset: result.offset, count: result.count, ...(result.total ? { total } : {}) };
  await respond(req, res, 200, searchsetBundle(page, new URL(`${ctx.baseUrl}/${search}`), ctx.baseUrl), {
    entities: resources.map((r) => ({ reference: `${type}/${r.id}`, role: 'subject' as const })),
    criteria: ['MI-L4'],
  });
}
