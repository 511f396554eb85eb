/**
 * The per-request exchange being audited. Routes describe what the exchange is
 * (`describeExchange`); the respond helpers and the error handler finish it, so
 * every answer — success, refusal or failure — produces exactly one audit record
 * before it is sent.
 */
import type { Request, Response } from 'express';
import type { AuditAction, AuditSink, ExchangeAgent, ExchangeEntity, ExchangeRecord } from '../audit/exchange.js';
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
}

/**
 * An audit record that belongs to this exchange beside its own (BALP `AuthZconsent` for an
 * access decision, `PrivacyDisclosure` for data handed to another agency): written with the
 * exchange's record, in one pipelined append, before the answer — refused or not.
 */
export type DecisionRecord = Pick<
  ExchangeRecord,
  'type' | 'subtype' | 'action' | 'outcome' | 'outcomeDescription' | 'subject' | 'entities' | 'dataCategory' | 'purpose' | 'criteria' | 'recipientAgency'
> & {
  /** What was decided (`consent`), recorded as the record's trigger. */
  readonly decision: string;
};

interface ExchangeState {
  readonly requestId: string;
  readonly service: ServiceName;
  description: ExchangeDescription;
  /** Read when the exchange is audited, so a record can sum up everything the request decided. */
  decisions: (() => DecisionRecord[])[];
  audited: boolean;
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

/** Adds decision records to this exchange, built when it is audited (written with its record, see `DecisionRecord`). */
export function addDecisionRecords(res: Response, records: () => DecisionRecord[]): void {
  stateOf(res)?.decisions.push(records);
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
  const d = state.description;
  const succeeded = status < 400;
  // A search's parameters are part of what was asked (BALP query entity); the path alone would lose them.
  const queryIndex = req.originalUrl.indexOf('?');
  const queryEntity: ExchangeEntity[] =
    queryIndex >= 0 && req.method === 'GET'
      ? [{ reference: req.originalUrl.slice(req.originalUrl.lastIndexOf('/', queryIndex) + 1), role: 'query' }]
      : [];
  const record: ExchangeRecord = {
    requestId: state.requestId,
    service: state.service,
    type: d.type ?? 'rest',
    subtype: d.subtype ?? `${req.method.toLowerCase()} ${routePatternOf(req) ?? req.path}`,
    action: d.action ?? ACTION_BY_METHOD[req.method] ?? 'E',
    outcome: outcomeCode(status),
    outcomeDescription: outcomeText,
    httpStatus: status,
    method: req.method,
    path: req.originalUrl.split('?')[0] ?? req.path,
    agent: agentOf(req, res),
    sourceAddress: req.ip,
    subject: d.subject,
    entities: [...(d.entities ?? []), ...queryEntity],
    dataCategory: d.dataCategory,
    purpose: d.purpose,
    criteria: succeeded ? (d.criteria ?? []) : (d.criteriaOnDenial ?? []),
    recipientAgency: d.recipientAgency,
  };
  const decided = state.decisions.flatMap((records) => records());
  if (decided.length === 0) {
    await audit.record(record);
    return;
  }
  // Decisions are part of the request, not HTTP exchanges of their own: method and path, no status.
  const decisions: ExchangeRecord[] = decided.map(({ decision, ...rest }) => ({
    requestId: state.requestId,
    service: state.service,
    method: req.method,
    path: record.path,
    agent: record.agent,
    sourceAddress: req.ip,
    trigger: { kind: 'decision', name: decision },
    ...rest,
  }));
  const all = [...decisions, record];
  if (audit.recordMany) await audit.recordMany(all);
  else for (const r of all) await audit.record(r);
}
