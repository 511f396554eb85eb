/**
 * Sending one step's request. FHIR steps go through fhir-kit-client, as a
 * real agency system's would (so the hub is exercised the way its clients
 * use it); raw `http` steps send exactly the bytes the scenario asks for; `token`
 * steps post a (possibly crafted) client assertion to the token endpoint.
 */
import { Client } from 'fhir-kit-client';
import { CLIENT_ASSERTION_TYPE } from '../../shared/auth/client-assertion.js';
import { fhirBase, fhirClient, fhirErrorResponse } from '../../shared/client/fhir.js';
import { outcomeText, sendHttp } from '../../shared/client/http.js';
import { postTokenRequest } from '../../shared/client/token.js';
import type { ActorTokens } from './actor-tokens.js';
import { craftAssertion } from './crafted-tokens.js';
import { setAtPath } from './paths.js';
import type { Actor, Edit, FhirRequest, HttpStepRequest, Step, TokenStepRequest } from './scenario.js';
import type { ReplayTarget } from './target.js';

export interface StepResponse {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: unknown;
  /** What was sent, for the report (`GET http://…/fhir/CareTeam?subject=…`). */
  readonly request: string;
}

export interface ExecuteContext {
  readonly target: ReplayTarget;
  readonly tokens: ActorTokens;
  /** X-Request-Id for this attempt; the token exchange gets the same id with `.token`. */
  readonly requestId: string;
}

/** Runs the step's one request. `step` has had its variables substituted already. */
export async function executeStep(step: Step, ctx: ExecuteContext): Promise<StepResponse> {
  if (step.token) return tokenStep(step.token, step.as!, ctx);
  const token = step.as ? await ctx.tokens.forStep(step.as, `${ctx.requestId}.token`) : undefined;
  if (step.fhir) return fhirStep(step.fhir, token, ctx);
  return httpStep(step.http!, token, ctx);
}

export function applyEdits(body: unknown, edits: readonly Edit[] | undefined): unknown {
  if (!edits?.length) return body;
  if (typeof body !== 'object' || body === null) throw new Error('edits need a JSON object body');
  for (const e of edits) {
    if ('remove' in e) setAtPath(body, e.path, undefined, true);
    else setAtPath(body, e.path, e.set);
  }
  return body;
}

type FhirBody = { resourceType: string } & Record<string, unknown>;

async function fhirStep(req: FhirRequest, token: string | undefined, ctx: ExecuteContext): Promise<StepResponse> {
  const base = fhirBase(ctx.target.urls[req.service]);
  const client = fhirClient(base, token);
  const options = { headers: { 'x-request-id': ctx.requestId, ...req.headers } };
  const body = applyEdits(req.body, req.edits) as FhirBody;
  const [resourceType, id] = req.reference !== undefined ? splitReference(req.reference) : [req.resourceType ?? '', req.id ?? ''];
  const label = describeFhir(req);
  let call: Promise<Record<string, unknown>>;
  switch (req.interaction) {
    case 'read':
      call = client.read({ resourceType, id, options });
      break;
    case 'vread':
      call = client.vread({ resourceType, id, version: req.version ?? '', options });
      break;
    case 'search':
      call = resourceType
        ? client.search({ resourceType, searchParams: req.params ?? {}, options })
        : client.search({ searchParams: req.params ?? {}, options });
      break;
    case 'create':
      call = client.create({ resourceType, body, options });
      break;
    case 'update':
      call = req.id !== undefined ? client.update({ resourceType, id, body, options }) : client.update({ resourceType, searchParams: req.params, body, options });
      break;
    case 'delete':
      call = client.delete({ resourceType, id, options });
      break;
    case 'operation': {
      const method = req.method ?? 'POST';
      const input = method === 'GET' ? req.params : body;
      call = client.operation({
        name: req.name ?? '',
        ...(resourceType ? { resourceType } : {}),
        ...(id ? { id } : {}),
        method,
        ...(input !== undefined ? { input } : {}),
        options,
      });
      break;
    }
    case 'transaction':
      call = client.transaction({ body, options });
      break;
    case 'batch':
      call = client.batch({ body, options });
      break;
    case 'history':
      call = client.history({ ...(resourceType ? { resourceType } : {}), ...(id ? { id } : {}), options });
      break;
    case 'capabilities':
      call = client.capabilityStatement(options);
      break;
  }
  try {
    const result = await call;
    const response = Client.httpFor(result as FhirBody).response;
    return { status: response?.status ?? 200, headers: headersOf(response?.headers), body: result, request: `${label} → ${base}` };
  } catch (err) {
    const answer = fhirErrorResponse(err);
    // fhir-kit-client throws on every non-2xx answer; that answer is what the step checks.
    if (answer) return { status: answer.status, headers: {}, body: answer.data, request: `${label} → ${base}` };
    throw new Error(`${label}: ${networkReason(err)}`, { cause: err });
  }
}

/** `PractitionerRole/role-1` → ['PractitionerRole', 'role-1']; anything else cannot be read. */
function splitReference(reference: string): [string, string] {
  const m = /^([A-Z][A-Za-z]+)\/([A-Za-z0-9\-.]{1,64})$/.exec(reference);
  if (!m) throw new StepError(`reference must be Type/id, got ${JSON.stringify(reference)}`);
  return [m[1]!, m[2]!];
}

function describeFhir(req: FhirRequest): string {
  const target = [req.reference ?? [req.resourceType, req.id].filter(Boolean).join('/'), req.version ? `_history/${req.version}` : undefined]
    .filter(Boolean)
    .join('/');
  const name = req.interaction === 'operation' ? ` ${req.name}` : '';
  return `${req.interaction}${name} ${target}`.trim();
}

async function httpStep(req: HttpStepRequest, token: string | undefined, ctx: ExecuteContext): Promise<StepResponse> {
  // A saved absolute URL keeps only its path: the step still goes to the service it names.
  const given = new URL(req.path, ctx.target.urls[req.service]);
  const url = new URL(`${given.pathname}${given.search}`, ctx.target.urls[req.service]);
  for (const [name, value] of Object.entries(req.query ?? {})) {
    for (const v of [value].flat()) url.searchParams.append(name, String(v));
  }
  const headers: Record<string, string> = { 'x-request-id': ctx.requestId, accept: 'application/fhir+json' };
  if (token !== undefined) headers.authorization = `Bearer ${token}`;
  let body: string | undefined;
  if (req.form !== undefined) {
    headers['content-type'] = 'application/x-www-form-urlencoded';
    body = new URLSearchParams(req.form).toString();
  } else if (req.text !== undefined) {
    headers['content-type'] = 'application/fhir+json';
    body = req.text;
  } else if (req.body !== undefined) {
    headers['content-type'] = 'application/fhir+json';
    body = JSON.stringify(applyEdits(req.body, req.edits));
  }
  if (req.padTo !== undefined) {
    body ??= '';
    const bytes = Buffer.byteLength(body);
    if (bytes < req.padTo) body += ' '.repeat(req.padTo - bytes);
  }
  // Scenario headers win, lower-cased so `Authorization` replaces the actor's token.
  for (const [name, value] of Object.entries(req.headers ?? {})) headers[name.toLowerCase()] = value;
  const label = `${req.method} ${url.pathname}${url.search}`;
  try {
    const res = await sendHttp({ method: req.method, url: url.toString(), headers, ...(body !== undefined ? { body } : {}) });
    return { status: res.status, headers: res.headers, body: res.body, request: `${label} → ${url.origin}` };
  } catch (err) {
    throw new Error(`${label}: ${networkReason(err)}`, { cause: err });
  }
}

async function tokenStep(req: TokenStepRequest, actor: Actor, ctx: ExecuteContext): Promise<StepResponse> {
  const key = await ctx.tokens.agencyKey(actor.agency);
  const assertion = craftAssertion(req.assertion, {
    agencyId: actor.agency,
    tokenUrl: ctx.target.tokenUrl,
    key,
    ...(req.impersonate ? { impersonate: req.impersonate } : {}),
  });
  const form: Record<string, string> = { grant_type: 'client_credentials', client_assertion_type: CLIENT_ASSERTION_TYPE };
  if (assertion !== undefined) form.client_assertion = assertion;
  const scope = req.scope ?? actor.scope;
  if (scope) form.scope = scope;
  if (actor.practitionerRole) form.practitioner_role = actor.practitionerRole;
  if (actor.patient) form.patient = actor.patient;
  Object.assign(form, req.form);
  const label = `POST token (${req.assertion} assertion)`;
  try {
    if (req.assertion === 'replayed') {
      const first = await postTokenRequest(ctx.target.tokenUrl, form, `${ctx.requestId}.first`);
      if (first.status !== 200) {
        // A refusal of the replay only proves something if the first use was accepted.
        throw new StepError(`the first use of the assertion was refused (${first.status}${reasonOf(first.body)}), so a refused replay would prove nothing`);
      }
    }
    const res = await postTokenRequest(ctx.target.tokenUrl, form, ctx.requestId);
    return { status: res.status, headers: res.headers, body: res.body, request: `${label} → ${ctx.target.tokenUrl}` };
  } catch (err) {
    if (err instanceof StepError) throw err;
    throw new Error(`${label}: ${networkReason(err)}`, { cause: err });
  }
}

/** A step that cannot be judged, with the reason (not a network failure). */
export class StepError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StepError';
  }
}

function reasonOf(body: unknown): string {
  const text = outcomeText(body);
  return text ? `: ${text}` : '';
}

function headersOf(headers: Headers | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  headers?.forEach((value, name) => {
    out[name.toLowerCase()] = value;
  });
  return out;
}

function networkReason(err: unknown): string {
  const e = err as { message?: string; cause?: { code?: string; message?: string } };
  if (e.cause?.code === 'ECONNREFUSED') return 'connection refused (is the service running?)';
  return e.cause?.message ?? e.message ?? String(err);
}
