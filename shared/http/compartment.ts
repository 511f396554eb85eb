/**
 * Compartment search (FHIR R4 http.html §3.1.0.5: `GET /fhir/Patient/123/Flag`, `…/Flag?status=active`,
 * `POST …/Flag/_search`, `…/*`) is not served by any service: a compartment holds every resource that refers to the
 * Patient through any of the compartment's parameters (a CarePlan as its subject or a performer), and the hub's
 * searches serve one reference parameter per type. So where no route takes such a path it is refused with a 400
 * not-supported that names the search that is served — `GET /fhir/Flag?subject=Patient/123` — read from the service's
 * own CapabilityStatement, not the bare 404 "No route" a client cannot act on. Every statement says so in
 * `rest.documentation` (shared/fhir/capability.ts) and declares no `rest.compartment`.
 */
import type { Application } from 'express';
import type { CapabilityStatement } from 'fhir/r4.js';
import { interactionNotSupported, type OperationOutcomeError } from '../fhir/outcome.js';
import { statementOf } from '../fhir/rest/metadata.js';
import { allowedMethods, routerOf, routesAt } from './methods.js';

/** `/fhir/<Compartment>/<id>/<Type or *>`, optionally `/_search` after it (a POSTed search). */
const COMPARTMENT_PATH = /^\/fhir\/([A-Z][A-Za-z]*)\/([^/]+)\/([A-Z][A-Za-z]*|\*)(\/_search)?$/;

/** Search parameters that name the compartment's owner, in the order the hint prefers them. */
const OWNER_PARAMETERS: Readonly<Record<string, readonly string[]>> = {
  Patient: ['patient', 'subject'],
  Practitioner: ['practitioner', 'performer', 'author'],
  RelatedPerson: ['related-person', 'performer', 'author'],
  Encounter: ['encounter', 'context'],
  Device: ['device', 'subject'],
};

export function compartmentSearchProblem(app: Application, method: string, path: string): OperationOutcomeError | undefined {
  const match = COMPARTMENT_PATH.exec(path);
  if (!match) return undefined;
  const [, owner = '', id = '', type = '', posted] = match;
  const searching = posted ? method === 'POST' : method === 'GET' || method === 'HEAD';
  if (!searching || allowedMethods(app, path).length > 0) return undefined;
  const sent = `${posted ? 'POST' : 'GET'} /fhir/${owner}/${id}/${type}${posted ?? ''}`;
  return interactionNotSupported(`Compartment search (${sent}) is not supported here. ${instead(app, owner, id, type)}GET /fhir/metadata lists the searches served`);
}

/** The search that is served in its place, when the service searches the type by a parameter naming the owner. */
function instead(app: Application, owner: string, id: string, type: string): string {
  if (type === '*') return `Search each type with its reference to the ${owner} instead. `;
  const statement = servedStatement(app);
  const resource = statement?.rest?.[0]?.resource?.find((r) => r.type === type);
  const searched = resource?.interaction?.some((i) => i.code === 'search-type') ?? false;
  if (!statement) return '';
  if (!searched) return `This service does not search ${type}. `;
  const served = new Set((resource?.searchParam ?? []).map((p) => p.name));
  const parameter = (OWNER_PARAMETERS[owner] ?? []).find((name) => served.has(name));
  if (!parameter) return `${type} search here takes no parameter naming a ${owner}. `;
  return `Search the type instead: GET /fhir/${type}?${parameter}=${owner}/${encodeURIComponent(id)}. `;
}

function servedStatement(app: Application): CapabilityStatement | undefined {
  for (const route of routesAt(routerOf(app), '/fhir/metadata')) {
    for (const layer of route.stack ?? []) {
      const statement = statementOf(layer.handle);
      if (statement) return statement;
    }
  }
  return undefined;
}
