/**
 * Each CapabilityStatement against what its service really routes (the routes read from the app's own router, so a
 * route added later is held to it without this test being touched): every resource type, interaction and operation
 * a statement declares is routed, and every one routed is declared. A FHIR client plans its calls from the statement
 * alone — an interaction routed but not declared is one it never uses, one declared but not routed a 404 it cannot
 * explain. Search parameters are checked over HTTP in `fhir-capability.int.test.ts`.
 */
import request from 'supertest';
import type { Express } from 'express';
import type { CapabilityStatement } from 'fhir/r4.js';
import { routeTemplates } from './route-templates.js';
import { startServiceApps, type ServiceApps } from './service-apps.js';

let services: ServiceApps | undefined;
let apps: ReadonlyArray<readonly [string, Express]>;

beforeAll(async () => {
  services = await startServiceApps();
  apps = services.apps;
});

afterAll(async () => {
  await services?.close();
});

/** FHIR paths that are neither a resource type nor an operation: the statement itself, SMART discovery, the async status URL (R4 async pattern). */
const NOT_TYPES = new Set(['metadata', '.well-known', '_async']);

/** The interaction a route is, by method and path shape after `/fhir/<Type>` (R4 http.html). */
const INTERACTIONS: ReadonlyArray<readonly [method: string, rest: string, interaction: string]> = [
  ['GET', '', 'search-type'],
  ['POST', '/_search', 'search-type'],
  ['POST', '', 'create'],
  ['GET', '/:id', 'read'],
  ['PUT', '/:id', 'update'],
  ['PATCH', '/:id', 'patch'],
  ['DELETE', '/:id', 'delete'],
  ['GET', '/:id/_history', 'history-instance'],
  ['GET', '/:id/_history/:vid', 'vread'],
  ['GET', '/_history', 'history-type'],
  ['PUT', '', 'conditional-update'],
  ['DELETE', '', 'conditional-delete'],
];

interface Served {
  /** Per type: interactions (conditional update/delete as pseudo-interactions) and operation names. */
  readonly types: Map<string, { interactions: Set<string>; operations: Set<string> }>;
  readonly systemInteractions: Set<string>;
  readonly systemOperations: Set<string>;
  /** Routes this test cannot place: each is a failure, so a new kind of route is looked at. */
  readonly unplaced: string[];
}

function served(app: Express): Served {
  const result: Served = { types: new Map(), systemInteractions: new Set(), systemOperations: new Set(), unplaced: [] };
  for (const { method, path } of routeTemplates(app)) {
    if (!path.startsWith('/fhir')) continue;
    const segments = path.split('/').slice(2);
    const [first = '', ...rest] = segments;
    const operation = segments.find((s) => s.startsWith('$'));
    if (path === '/fhir') {
      if (method === 'POST') result.systemInteractions.add('transaction');
      else result.unplaced.push(`${method} ${path}`);
      continue;
    }
    if (NOT_TYPES.has(first)) continue;
    if (first.startsWith('$')) {
      result.systemOperations.add(first.slice(1));
      continue;
    }
    if (!/^[A-Z][A-Za-z]+$/.test(first)) {
      result.unplaced.push(`${method} ${path}`);
      continue;
    }
    const type = result.types.get(first) ?? { interactions: new Set<string>(), operations: new Set<string>() };
    result.types.set(first, type);
    if (operation) {
      type.operations.add(operation.slice(1));
      continue;
    }
    const shape = rest.length ? `/${rest.join('/')}` : '';
    const interaction = INTERACTIONS.find(([m, r]) => m === method && r === shape)?.[2];
    if (interaction) type.interactions.add(interaction);
    else result.unplaced.push(`${method} ${path}`);
  }
  return result;
}

function declared(statement: CapabilityStatement): Omit<Served, 'unplaced'> {
  const rest = statement.rest?.[0];
  const types = new Map<string, { interactions: Set<string>; operations: Set<string> }>();
  for (const resource of rest?.resource ?? []) {
    const interactions = new Set((resource.interaction ?? []).map((i) => i.code as string));
    // fhir-kit-client's postSearch: every search-type is also served as POST [type]/_search (R4 §3.1.1.3), which the statement does not list apart.
    if (resource.conditionalUpdate) interactions.add('conditional-update');
    if (resource.conditionalDelete && resource.conditionalDelete !== 'not-supported') interactions.add('conditional-delete');
    types.set(resource.type, { interactions, operations: new Set((resource.operation ?? []).map((o) => o.name)) });
  }
  return {
    types,
    systemInteractions: new Set((rest?.interaction ?? []).map((i) => i.code as string)),
    systemOperations: new Set((rest?.operation ?? []).map((o) => o.name)),
  };
}

/** `a` minus `b`, each as `<where> <name>`. */
const missing = (where: string, a: ReadonlySet<string>, b: ReadonlySet<string> | undefined) => [...a].filter((x) => !b?.has(x)).map((x) => `${where} ${x}`);

describe('each CapabilityStatement against the routes its service serves', () => {
  const services = ['directory', 'mpi', 'alerts', 'plans', 'audit'];

  it.each(services)('%s: every resource type, interaction and operation routed is declared, and every one declared is routed', async (service) => {
    const app = apps.find(([name]) => name === service)![1];
    const statement = (await request(app).get('/fhir/metadata')).body as CapabilityStatement;
    const routes = served(app);
    const stated = declared(statement);
    const undeclared: string[] = [...routes.unplaced.map((r) => `unplaced route ${r}`)];
    const unrouted: string[] = [];
    for (const [type, { interactions, operations }] of routes.types) {
      if (!stated.types.has(type)) undeclared.push(`type ${type}`);
      undeclared.push(...missing(`${type} interaction`, interactions, stated.types.get(type)?.interactions));
      undeclared.push(...missing(`${type} operation $`, operations, stated.types.get(type)?.operations));
    }
    for (const [type, { interactions, operations }] of stated.types) {
      if (!routes.types.has(type)) unrouted.push(`type ${type}`);
      unrouted.push(...missing(`${type} interaction`, interactions, routes.types.get(type)?.interactions));
      unrouted.push(...missing(`${type} operation $`, operations, routes.types.get(type)?.operations));
    }
    undeclared.push(...missing('system interaction', routes.systemInteractions, stated.systemInteractions));
    undeclared.push(...missing('system operation $', routes.systemOperations, stated.systemOperations));
    unrouted.push(...missing('system interaction', stated.systemInteractions, routes.systemInteractions));
    unrouted.push(...missing('system operation $', stated.systemOperations, routes.systemOperations));
    expect({ undeclared, unrouted }).toEqual({ undeclared: [], unrouted: [] });
  });

  it.each(services)('%s: every search is also served as POST [type]/_search, as fhir-kit-client\'s postSearch sends it', (service) => {
    const app = apps.find(([name]) => name === service)![1];
    const routes = routeTemplates(app).map((r) => `${r.method} ${r.path}`);
    const searches = routes.filter((r) => /^GET \/fhir\/[A-Z][A-Za-z]+$/.test(r));
    expect(searches.length).toBeGreaterThan(0);
    expect(searches.filter((r) => !routes.includes(`POST ${r.slice(4)}/_search`))).toEqual([]);
  });
});
