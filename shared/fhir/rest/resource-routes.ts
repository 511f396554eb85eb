/**
 * Generic FHIR REST routes for one resource type over the shared resource store:
 * search, read, vread, `_history`, create and update with `If-Match`. A service
 * mounts one router per type and adds what is particular to it through hooks:
 * extra validation or normalisation before a write, who may write which record,
 * what each exchange demonstrates (for the audit), and resources to include in
 * a search.
 *
 *   GET  /<Type>?…                 search-type       system/<Type>.read
 *   POST /<Type>/_search           search-type       system/<Type>.read   (form-encoded parameters)
 *   GET  /<Type>/:id               read              system/<Type>.read
 *   GET  /<Type>/:id/_history      history-instance  system/<Type>.read
 *   GET  /<Type>/:id/_history/:vid vread             system/<Type>.read
 *   POST /<Type>                   create            system/<Type>.write  (a client id is ignored, as FHIR says)
 *   PUT  /<Type>/:id               update            system/<Type>.write  (If-Match → 412 when stale; creates a new id)
 *
 * Every answer goes through `respond` or the shared error handler, so each is
 * audited before it is sent. Bodies are validated against the R4 structure
 * definitions (422 listing every problem) before any hook runs.
 */
import { randomUUID } from 'node:crypto';
import type { Router, Request, RequestHandler, Response } from 'express';
import { serviceRouter } from '../../http/router.js';
import type { Bundle, BundleEntry, FhirResource, Resource } from 'fhir/r4.js';
import { authContext, type AuthContext } from '../../auth/middleware.js';
import { readScope, writeScope } from '../../auth/scopes.js';
import type { ResourceStore, SearchResult, WriteOutcome } from '../../store/resource-store.js';
import type { ResourceOf, ResourceType } from '../../store/search-params.js';
import { historyBundle, searchsetBundle } from '../bundle.js';
import { causeOf, describeExchange, type ExchangeDescription } from '../exchange-context.js';
import { handler, respond } from '../express.js';
import { badRequest } from '../outcome.js';
import { servingConditionalCreate, servingIfNoneMatch } from '../request-rules.js';
import { validBody } from '../request-body.js';
import type { ValidationPool } from '../validation-pool.js';
import { requireAccess } from './access.js';
import { searchQueryOf, servedSearch } from './search-query.js';

export type ResourceInteraction = 'read' | 'vread' | 'history-instance' | 'search-type' | 'create' | 'update';

export const ALL_INTERACTIONS: readonly ResourceInteraction[] = ['read', 'vread', 'history-instance', 'search-type', 'create', 'update'];

export interface WriteContext<T> {
  readonly req: Request;
  readonly res: Response;
  readonly auth: AuthContext;
  readonly interaction: 'create' | 'update';
  /** The current version, on an update of an existing resource. */
  readonly previous?: T;
}

export interface ResourceRouteHooks<T> {
  /**
   * Runs after structural validation, before the store: domain checks (throw an
   * OperationOutcomeError: 422 for bad content, 403 for a caller who may not
   * write this record) and normalisation (return the resource to store).
   */
  prepareWrite?(resource: T, context: WriteContext<T>): T | Promise<T>;
  /** What a successful read or vread demonstrates (criteria, subject, data category). */
  describeRead?(resource: T, req: Request, res: Response): ExchangeDescription | Promise<ExchangeDescription>;
  /** What a successful search demonstrates, given the page found. */
  describeSearch?(result: SearchResult<T>, req: Request, res: Response): ExchangeDescription | Promise<ExchangeDescription>;
  /** What a successful create or update demonstrates. */
  describeWrite?(resource: T, outcome: WriteOutcome, req: Request, res: Response): ExchangeDescription | Promise<ExchangeDescription>;
  /** Resources to add to a search page as `search.mode = include` (e.g. the PractitionerRoles a CareTeam names). */
  searchIncludes?(resources: readonly T[], req: Request, res: Response): Promise<readonly Resource[]>;
}

export interface ResourceRoutesOptions<K extends ResourceType> extends ResourceRouteHooks<ResourceOf<K>> {
  readonly type: K;
  readonly store: ResourceStore;
  /** Absolute FHIR base of the service (`http://localhost:4000/fhir`), for Bundle `fullUrl`s and `Location`. */
  readonly baseUrl: string;
  /** The service's `authenticate` middleware (shared/auth/middleware.ts). */
  readonly authenticate: RequestHandler;
  /** Interactions served (default: all of them). */
  readonly interactions?: readonly ResourceInteraction[];
  /** Where bodies are validated: a large one on a worker thread (the service's pool). */
  readonly validation: ValidationPool;
}

/** A router serving one resource type; mount it at the service's FHIR base (`/fhir`). */
export function resourceRoutes<K extends ResourceType>(options: ResourceRoutesOptions<K>): Router {
  type T = ResourceOf<K>;
  const { type, store, baseUrl, authenticate } = options;
  const serves = new Set(options.interactions ?? ALL_INTERACTIONS);
  const canRead = requireAccess(authenticate, readScope(type));
  const canWrite = requireAccess(authenticate, writeScope(type));
  const router = serviceRouter();
  const entity = (id: string) => ({ reference: `${type}/${id}`, role: 'domain-resource' as const });

  const searchType = handler(async (req, res) => {
    describeExchange(res, { subtype: 'search-type', action: 'E' });
    const query = searchQueryOf(req);
    const result = await servedSearch(req, res, query, () => store.search(type, query));
    // The search as served (without what `Prefer: handling=lenient` dropped): the self link, and a POST's parameters
    // (the audit shell records a GET's query itself; a POST _search's are in its body).
    const search = `${type}${query.size > 0 ? `?${query.toString()}` : ''}`;
    if (req.method === 'POST') describeExchange(res, { entities: [{ reference: search, role: 'query' }] });
    const included = options.searchIncludes ? await options.searchIncludes(result.resources, req, res) : [];
    const selfUrl = new URL(`${baseUrl}/${search}`);
    const bundle = withIncludes(searchsetBundle(result, selfUrl, baseUrl), included, baseUrl);
    await respond(req, res, 200, bundle, (await options.describeSearch?.(result, req, res)) ?? {});
  });

  if (serves.has('search-type')) {
    router.get(`/${type}`, ...canRead, searchType);
    router.post(`/${type}/_search`, ...canRead, searchType);
  }

  if (serves.has('history-instance')) {
    router.get(
      `/${type}/:id/_history`,
      ...canRead,
      handler(async (req, res) => {
        const id = param(req, 'id');
        describeExchange(res, { subtype: 'history-instance', action: 'R', entities: [entity(id)] });
        const versions = (await store.history(type, id)).flatMap((v) => (v.resource ? [v.resource] : []));
        await respond(req, res, 200, historyBundle(versions, baseUrl));
      }),
    );
  }

  if (serves.has('vread')) {
    router.get(
      `/${type}/:id/_history/:vid`,
      ...canRead,
      handler(async (req, res) => {
        const id = param(req, 'id');
        describeExchange(res, { subtype: 'vread', action: 'R', entities: [entity(id)] });
        const resource = await store.vread(type, id, param(req, 'vid'));
        await respond(req, res, 200, resource, (await options.describeRead?.(resource, req, res)) ?? {});
      }),
    );
  }

  if (serves.has('read')) {
    router.get(
      `/${type}/:id`,
      ...canRead,
      handler(async (req, res) => {
        const id = param(req, 'id');
        describeExchange(res, { subtype: 'read', action: 'R', entities: [entity(id)] });
        const resource = await store.read(type, id);
        await respond(req, res, 200, resource, (await options.describeRead?.(resource, req, res)) ?? {});
      }),
    );
  }

  if (serves.has('create')) {
    router.post(
      `/${type}`,
      ...canWrite,
      servingConditionalCreate(
        handler(async (req, res) => {
          describeExchange(res, { subtype: 'create', action: 'C' });
          // The server assigns the id (a client's is ignored, as FHIR says) before the hooks run,
          // so they check the resource exactly as it will be stored.
          const { id: _ignored, ...body } = await validBody<FhirResource>(req, type, options.validation);
          const withId = { ...body, id: randomUUID() } as T;
          const prepared = await prepare(withId, { req, res, auth: authContext(res), interaction: 'create' });
          // Conditional create (R4 §3.1.0.8.1): `If-None-Exist` holds a search's query (`identifier=…|…`);
          // one match is answered as it stands (200), none is created (201), several are a 412.
          const ifNoneExist = req.header('if-none-exist');
          const { resource: stored, outcome } =
            ifNoneExist === undefined
              ? { resource: await store.create(prepared, { cause: causeOf(req, res) }), outcome: 'created' as const }
              : await store.conditionalCreate(prepared, new URLSearchParams(ifNoneExist.replace(/^[^?]*\?/, '')), { cause: causeOf(req, res) });
          describeExchange(res, { entities: [entity(stored.id!)] });
          await respond(req, res, outcome === 'created' ? 201 : 200, stored, {
            ...(outcome === 'created' ? {} : { action: 'R' as const }),
            ...((await options.describeWrite?.(stored, outcome, req, res)) ?? {}),
            location: `${baseUrl}/${type}/${stored.id}/_history/${stored.meta?.versionId}`,
          });
        }),
      ),
    );
  }

  if (serves.has('update')) {
    router.put(
      `/${type}/:id`,
      ...canWrite,
      servingIfNoneMatch(
        handler(async (req, res) => {
          const id = param(req, 'id');
          describeExchange(res, { subtype: 'update', action: 'U', entities: [entity(id)] });
          const body = (await validBody<FhirResource>(req, type, options.validation)) as T;
          if (body.id === undefined) throw badRequest(`The ${type} must carry its id (${id})`, `${type}.id`);
          if (body.id !== id) throw badRequest(`The ${type} id ${body.id} does not match the URL id ${id}`, `${type}.id`);
          const previous = (await store.readMany(type, [id]))[0];
          const prepared = await prepare(body, { req, res, auth: authContext(res), interaction: 'update', ...(previous ? { previous } : {}) });
          const { resource, outcome } = await store.update(prepared, { ifMatch: req.header('if-match'), ifNoneMatch: req.header('if-none-match'), cause: causeOf(req, res) });
          const created = outcome === 'created';
          await respond(req, res, created ? 201 : 200, resource, {
            ...(created ? { subtype: 'create', action: 'C' as const } : {}),
            ...((await options.describeWrite?.(resource, outcome, req, res)) ?? {}),
            ...(created ? { location: `${baseUrl}/${type}/${id}/_history/${resource.meta?.versionId}` } : {}),
          });
        }),
      ),
    );
  }

  async function prepare(resource: T, context: WriteContext<T>): Promise<T> {
    return options.prepareWrite ? options.prepareWrite(resource, context) : resource;
  }

  return router;
}

function param(req: Request, name: string): string {
  const value = req.params[name];
  if (typeof value !== 'string') throw badRequest(`Missing path parameter ${name}`);
  return value;
}

/** The bundle with `include` entries appended, each resource once and none already matched. */
function withIncludes<T extends Resource>(bundle: Bundle<T>, included: readonly Resource[], baseUrl: string): Bundle<FhirResource> {
  if (included.length === 0) return bundle as Bundle<FhirResource>;
  const seen = new Set((bundle.entry ?? []).map((e) => `${e.resource?.resourceType}/${e.resource?.id}`));
  const extra: BundleEntry<FhirResource>[] = [];
  for (const resource of included) {
    const key = `${resource.resourceType}/${resource.id}`;
    if (seen.has(key)) continue;
    seen.add(key);
    extra.push({ fullUrl: `${baseUrl}/${key}`, resource: resource as FhirResource, search: { mode: 'include' } });
  }
  return { ...(bundle as Bundle<FhirResource>), entry: [...((bundle.entry ?? []) as BundleEntry<FhirResource>[]), ...extra] };
}
