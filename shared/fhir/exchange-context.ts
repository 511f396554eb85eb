/**
 * The per-request exchange being audited. Routes describe what the exchange is
 * (`describeExchange`); the respond helpers and the error handler finish it, so
 * every answer — success, refusal or failure — produces exactly one audit record
 * before it is sent.
 */
import type { Request, Response } from 'express';
import type { AuditAction, AuditSink, ExchangeAgent, ExchangeEntity, ExchangePattern, ExchangeRecord } from '../audit/exchange.js';
import type { ChangeCause } from '../audit/outbox.js';
import type { ServiceName } from '../config.js';
import { routePatternOf } from '../http/route-pattern.js';

export interface ExchangeDescription {
  type?: ExchangeRecord['type'];
  subtype?: string;
  action?: AuditAction;
  subject?: string;
  entities?: ExchangeEntity[];
  dataCategory?: string;
  purpose?: string;
  recipientAgency?: string;
  /** Criteria evidenced when the exchange succeeds. */
  criteria?: string[];
  /** Criteria evidenced when the exchange is correctly refused (e.g. SI-L3 for a denial). */
  criteriaOnDenial?: string[];
  /** What the audit records as the outcome when it is not what the caller was told (a denial answered as an unknown id). */
  outcomeDescription?: string;
}

/**
 * Access decisions the answer rested on (consent's: which resource, permit or deny, on what
 * basis, which Consent), folded into the exchange's own record when it is audited — one
 * record per exchange carrying BALP AuthZconsent's content (`ExchangePattern`), not records
 * of their own beside it.
 */
export interface ExchangeDecisions {
  /** The decided resources (each with its `decision`) and the Consents that decided. */
  readonly entities: readonly ExchangeEntity[];
  readonly patterns: readonly ExchangePattern[];
  /** Criteria the decisions evidence when the exchange succeeds, and when it is refused (4xx). */
  readonly criteria: readonly string[];
  readonly criteriaOnDenial: readonly string[];
  /** The purpose of use, when the decisions name one the request did not (break-glass: `BTG`). */
  readonly purpose?: string;
  /** Who received data another agency wrote (BALP PrivacyDisclosure's recipient). */
  readonly recipientAgency?: string;
  /** The outcome in words when the exchange has none of its own (a break-glass read: the reason stated). */
  readonly note?: string;
}

interface ExchangeState {
  readonly requestId: string;
  readonly service: ServiceName;
  description: ExchangeDescription;
  /** Read when the exchange is audited, so its record sums up everything the request decided. */
  decisions: (() => ExchangeDecisions | undefined)[];
  audited: boolean;
  /** The method the client sent, where the shell serves the request as another (an operation POSTed, run as its GET). */
  sentMethod?: string;
}

/** What the auth middleware leaves in `res.locals.auth` (only the fields the audit needs). */
interface AuthLike {
  sub?: string;
  agency?: string;
  partnership?: string;
  practitionerRole?: string;
  patient?: string;
}

export function startExchange(res: Response, service: ServiceName, requestId: string): void {
  const state: ExchangeState = { requestId, service, description: {}, decisions: [], audited: false };
  res.locals.exchange = state;
}

function stateOf(res: Response): ExchangeState | undefined {
  return res.locals.exchange as ExchangeState | undefined;
}

/** Keeps the method the client sent before the shell rewrites it, so the audit record says what was sent. */
export function recordSentMethod(res: Response, method: string): void {
  const state = stateOf(res);
  if (state) state.sentMethod = method;
}

/** Adds to what is known about this exchange (later calls extend earlier ones). */
export function describeExchange(res: Response, description: ExchangeDescription): void {
  const state = stateOf(res);
  if (!state) return;
  const prev = state.description;
  state.description = {
    ...prev,
    ...description,
    entities: [...(prev.entities ?? []), ...(description.entities ?? [])],
    criteria: description.criteria ?? prev.criteria,
  };
}

/** Adds access decisions to this exchange, built when it is audited and folded into its record (see `ExchangeDecisions`). */
export function addDecisions(res: Response, decisions: () => ExchangeDecisions | undefined): void {
  stateOf(res)?.decisions.push(decisions);
}

/**
 * The cause of a change this request makes (its request id and who acted), for
 * a store that records the change with it (shared/audit/outbox.ts).
 */
export function causeOf(req: Request, res: Response, subject?: string): ChangeCause {
  return { requestId: requestIdOf(res), agent: agentOf(req, res), ...(subject ? { subject } : {}) };
}

export function requestIdOf(res: Response): string {
  return stateOf(res)?.requestId ?? 'unknown';
}

const ACTION_BY_METHOD: Record<string, AuditAction> = { GET: 'R', HEAD: 'R', POST: 'C', PUT: 'U', PATCH: 'U', DELETE: 'D' };

function agentOf(req: Request, res: Response): ExchangeAgent {
  const auth = res.locals.auth as AuthLike | undefined;
  if (auth) {
    return {
      clientId: auth.sub,
      agency: auth.agency,
      partnership: auth.partnership,
      practitionerRole: auth.practitionerRole,
      patient: auth.patient,
    };
  }
  // Before authentication only a claimed client id is known (token endpoint form).
  const body = req.body as { client_id?: unknown } | undefined;
  const claimed = typeof body === 'object' && body !== null && typeof body.client_id === 'string' ? body.client_id : undefined;
  return claimed ? { clientId: claimed } : {};
}

function outcomeCode(status: number): ExchangeRecord['outcome'] {
  if (status < 400) return '0';
  if (status < 500) return '4';
  return '8';
}

/**
 * Writes the audit record for this exchange (once). Resolves after the audit
 * sink has stored it durably; rejects if it could not, so the caller can refuse
 * to send an unaudited answer.
 */
export async function auditExchange(req: Request, res: Response, audit: AuditSink, status: number, outcomeText?: string): Promise<void> {
  const state = stateOf(res);
  if (!state || state.audited) return;
  state.audited = true;
  await audit.record(recordOf(req, res, state, status, outcomeText));
}

/**
 * The record this exchange will have when it is answered `status` as it stands now (undefined when it is not
 * audited here, or is audited already) — for a store that commits it in the same script as the change the answer
 * reports (the alerts accept: shared/audit/outbox.ts), so the record and the change are written together, in one
 * round trip. Once that commit succeeded, `recordedWithChange` says so and the answer does not record it again;
 * until then (a refusal instead, a failed write) the exchange is audited as usual.
 */
export function exchangeRecordOf(req: Request, res: Response, status: number): ExchangeRecord | undefined {
  const state = stateOf(res);
  return !state || state.audited ? undefined : recordOf(req, res, state, status);
}

/** The exchange's record (`exchangeRecordOf`) is committed with its change: the answer is audited. */
export function recordedWithChange(res: Response): void {
  const state = stateOf(res);
  if (state) state.audited = true;
}

function recordOf(req: Request, res: Response, state: ExchangeState, status: number, outcomeText?: string): ExchangeRecord {
  const d = state.description;
  const succeeded = status < 400;
  // A search's parameters are part of what was asked (BALP query entity); the path alone would lose them.
  const queryIndex = req.originalUrl.indexOf('?');
  const queryEntity: ExchangeEntity[] =
    queryIndex >= 0 && req.method === 'GET'
      ? [{ reference: req.originalUrl.slice(req.originalUrl.lastIndexOf('/', queryIndex) + 1), role: 'query' }]
      : [];
  const decided = state.decisions.flatMap((decisions) => decisions() ?? []);
  const refused = status >= 400 && status < 500;
  return {
    requestId: state.requestId,
    service: state.service,
    type: d.type ?? 'rest',
    subtype: d.subtype ?? `${req.method.toLowerCase()} ${routePatternOf(req) ?? req.path}`,
    action: d.action ?? ACTION_BY_METHOD[req.method] ?? 'E',
    outcome: outcomeCode(status),
    outcomeDescription: d.outcomeDescription ?? outcomeText ?? decided.find((x) => x.note !== undefined)?.note,
    httpStatus: status,
    method: state.sentMethod ?? req.method,
    path: req.originalUrl.split('?')[0] ?? req.path,
    agent: agentOf(req, res),
    sourceAddress: req.ip,
    subject: d.subject,
    entities: withDecided([...(d.entities ?? []), ...queryEntity], decided),
    dataCategory: d.dataCategory,
    purpose: decided.find((x) => x.purpose !== undefined)?.purpose ?? d.purpose,
    criteria: [
      ...(succeeded ? (d.criteria ?? []) : (d.criteriaOnDenial ?? [])),
      ...decided.flatMap((x) => (succeeded ? x.criteria : refused ? x.criteriaOnDenial : [])),
    ],
    recipientAgency: d.recipientAgency ?? decided.find((x) => x.recipientAgency !== undefined)?.recipientAgency,
    ...(decided.length > 0 ? { patterns: [...new Set(decided.flatMap((x) => x.patterns))] } : {}),
  };
}

/** The exchange's entities with the decisions folded in: a decided resource the exchange names already gets its decision there. */
function withDecided(entities: readonly ExchangeEntity[], decided: readonly ExchangeDecisions[]): ExchangeEntity[] {
  const out = [...entities];
  for (const entity of decided.flatMap((x) => x.entities)) {
    const role = entity.role ?? 'domain-resource';
    const at = out.findIndex((e) => e.reference === entity.reference && (e.role ?? 'domain-resource') === role && e.decision === undefined);
    if (at >= 0) out[at] = { ...out[at], ...entity };
    else out.push(entity);
  }
  return out;
}
