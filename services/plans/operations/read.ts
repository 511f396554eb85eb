/**
 * Reading plans, assessments and requests for assistance — each through the
 * one access check (store.ts → domain/access.ts):
 *
 *   GET  /fhir/<Type>/:id                 read              latest version; ETag, Content-Location …/_history/<v>
 *   GET  /fhir/<Type>/:id/_history        history-instance  every version, newest first
 *   GET  /fhir/<Type>/:id/_history/:vid   vread             one version
 *   GET  /fhir/<Type>?…, POST …/_search   search-type       exact total and pages of what the caller may see;
 *                                                           `_include` / `_revinclude` (domain/includes.ts), each checked too
 *
 * A record the caller may not see is answered as an unknown id (404; audited
 * with the real reason and the criteria a correct refusal shows); a search
 * leaves it out, counted nowhere.
 */
import type { Request, Response } from 'express';
import { historyBundle, searchsetBundle } from '../../../shared/fhir/bundle.js';
import { describeExchange } from '../../../shared/fhir/exchange-context.js';
import { respond } from '../../../shared/fhir/express.js';
import { badRequest } from '../../../shared/fhir/outcome.js';
import { searchQueryOf, servedSearch } from '../../../shared/fhir/rest/search-query.js';
import type { PlansContext } from '../context.js';
import { CATEGORY_OF, type Caller, type PlansType } from '../domain/access.js';
import { earlierVersionsCriteria, latestReadCriteria } from '../domain/criteria.js';
import { includesOf } from '../domain/includes.js';
import { keyOfText } from '../domain/subject.js';
import { namedProfessionalsOf, personOfKey } from '../subjects.js';
import { callerOf, entityOf, pathParam, permitted } from './common.js';

function versionUrl(ctx: PlansContext, type: PlansType, id: string, versionId: string | undefined): string {
  return `${ctx.baseUrl}/${type}/${id}/_history/${versionId ?? ''}`;
}

export function readResource(ctx: PlansContext, type: PlansType) {
  return async (req: Request, res: Response): Promise<void> => {
    const id = pathParam(req, 'id');
    describeExchange(res, { subtype: 'read', action: 'R', entities: [entityOf(type, id)] });
    const caller = await callerOf(res, ctx);
    const { value, decision } = permitted(res, caller, await ctx.store.read(caller, type, id));
    await respond(req, res, 200, value, {
      // PC-L5: the person reads current information about their care electronically.
      criteria: caller.patient ? [...latestReadCriteria(type, decision), 'PC-L5'] : latestReadCriteria(type, decision),
      headers: { 'Content-Location': versionUrl(ctx, type, id, value.meta?.versionId) },
    });
  };
}

export function vreadResource(ctx: PlansContext, type: PlansType) {
  return async (req: Request, res: Response): Promise<void> => {
    const id = pathParam(req, 'id');
    const versionId = pathParam(req, 'vid');
    describeExchange(res, { subtype: 'vread', action: 'R', entities: [entityOf(type, id)] });
    const caller = await callerOf(res, ctx);
    const { value, record, decision } = permitted(res, caller, await ctx.store.vread(caller, type, id, versionId));
    const byNpLp = await isNamedProfessional(ctx, caller, record.personId);
    await respond(req, res, 200, value, {
      criteria: earlierVersionsCriteria(decision, byNpLp),
      headers: { 'Content-Location': versionUrl(ctx, type, id, value.meta?.versionId) },
    });
  };
}

export function resourceHistory(ctx: PlansContext, type: PlansType) {
  return async (req: Request, res: Response): Promise<void> => {
    const id = pathParam(req, 'id');
    describeExchange(res, { subtype: 'history-instance', action: 'R', entities: [entityOf(type, id)] });
    const caller = await callerOf(res, ctx);
    const { value, record, decision } = permitted(res, caller, await ctx.store.history(caller, type, id));
    const byNpLp = await isNamedProfessional(ctx, caller, record.personId);
    await respond(req, res, 200, historyBundle(value, ctx.baseUrl), { criteria: earlierVersionsCriteria(decision, byNpLp) });
  };
}

/**
 * Search. A client names the person as `subject` (`Patient/<MPI record id>`,
 * `Person/<index id>`) or `subject:identifier` (`<system>|<value>`: an agency
 * identifier or the CHI); the store searches the `person` index. A subject the
 * index does not know matches nothing.
 */
export function searchResources(ctx: PlansContext, type: PlansType) {
  return async (req: Request, res: Response): Promise<void> => {
    describeExchange(res, { subtype: 'search-type', action: 'E' });
    const query = searchQueryOf(req);
    const caller = await callerOf(res, ctx);
    const { translated, includes, page } = await servedSearch(req, res, query, async () => {
      const { query: withoutIncludes, includes } = includesOf(type, query);
      const translated = await withPersonParam(ctx, withoutIncludes);
      return { translated, includes, page: await ctx.store.search(caller, type, translated.query) };
    });
    // The search as served (without what `Prefer: handling=lenient` dropped).
    const search = `${type}${query.size > 0 ? `?${query.toString()}` : ''}`;
    if (req.method === 'POST') describeExchange(res, { entities: [{ reference: search, role: 'query' }] });
    if (translated.personId) describeExchange(res, { subject: `Person/${translated.personId}`, entities: [{ reference: `Person/${translated.personId}`, role: 'subject' }] });
    // Included resources pass the same access check as the matches; `total` counts the matches alone.
    const included = page.count > 0 ? await ctx.store.included(caller, page.resources, includes) : [];
    const bundle = searchsetBundle(page, new URL(`${ctx.baseUrl}/${search}`), ctx.baseUrl, included);
    const criteria = [...new Set([...page.decisions.values()].flatMap((d) => (d.permit ? latestReadCriteria(type, d) : [])))];
    await respond(req, res, 200, bundle, { criteria, dataCategory: CATEGORY_OF[type] });
  };
}

const SUBJECT_PARAMS = ['subject', 'subject:identifier', 'patient', 'patient:identifier'];

/** No index Person has this id (`#` is not an id character): a subject the index does not know matches nothing. */
const NO_ONE = '#no-one';

/** The query with any `subject` form replaced by `person=<index id>`. */
async function withPersonParam(ctx: PlansContext, query: URLSearchParams): Promise<{ query: URLSearchParams; personId?: string }> {
  const given = SUBJECT_PARAMS.flatMap((name) => query.getAll(name).map((value) => ({ name, value })));
  if (given.length === 0) return { query };
  if (given.length > 1 || given[0]!.value.includes(',')) throw badRequest('Search by one subject at a time', given.map((g) => g.name));
  const { name, value } = given[0]!;
  const out = new URLSearchParams([...query].filter(([key]) => !SUBJECT_PARAMS.includes(key)));
  const person = /^Person\/([A-Za-z0-9\-.]{1,64})$/.exec(value);
  let personId: string | undefined = person?.[1];
  if (!personId) {
    const key = name.endsWith(':identifier') ? (value.includes('|') ? keyOfText(value) : undefined) : keyOfText(value);
    if (!key) throw badRequest(`${name}=${value} names no one: give Patient/<MPI record id>, Person/<id>, or ${name.split(':')[0]}:identifier=<system>|<value>`, name);
    const found = await personOfKey(ctx.mpi, key);
    if ('problem' in found) {
      out.set('person', NO_ONE);
      return { query: out };
    }
    personId = found.personId;
  }
  out.set('person', personId);
  return { query: out, personId };
}

/** Whether the caller acts as the person's Named Person or Lead Professional (their token names the PractitionerRole the directory holds). */
export async function isNamedProfessional(ctx: PlansContext, caller: Caller, personId: string): Promise<boolean> {
  if (!caller.practitionerRole) return false;
  const { roles } = await namedProfessionalsOf(ctx.mpi, ctx.directory, personId);
  return roles.includes(caller.practitionerRole);
}
