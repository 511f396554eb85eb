/** What the plans operations share: who is calling, guarded reads turned into answers or refusals, the exchange description. */
import type { Request, Response } from 'express';
import { authContext } from '../../../shared/auth/middleware.js';
import { describeExchange, type ExchangeDescription } from '../../../shared/fhir/exchange-context.js';
import { badRequest, forbidden, preconditionRequired } from '../../../shared/fhir/outcome.js';
import type { AuditSink } from '../../../shared/audit/exchange.js';
import type { Logger } from '../../../shared/log.js';
import { causeOf, requestIdOf } from '../../../shared/fhir/exchange-context.js';
import { breakGlassSink, noticeIdOf } from '../break-glass-notices.js';
import { intentOf } from '../consent-access.js';
import type { PlansContext } from '../context.js';
import { ConsentLedger } from '../consent-ledger.js';
import { type AccessDecision, type AccessRecord, type Caller, type PlansType } from '../domain/access.js';
import type { Guarded } from '../store.js';

/**
 * The caller as the access check sees them (from the verified token and the request's
 * `X-Purpose-Of-Use` / `X-Break-Glass-Reason`: 400 for a purpose it cannot name or
 * break-glass without a reason, 403 for break-glass by an agency type not allowed it —
 * both before anything is read), with the ledger that audits each consent decision of
 * this request in its own record (AuthZconsent's content, the disclosure) and, after a break-glass read, has the
 * NP/LP's notice written with the request's own audit record (break-glass-notices.ts) and queued to be sent.
 */
export async function callerOf(res: Response, ctx: Pick<PlansContext, 'breakGlass' | 'access' | 'relay'>): Promise<Caller> {
  const auth = authContext(res);
  const intent = intentOf(res.req);
  const breakGlassReason = intent.breakGlass?.reason;
  if (breakGlassReason !== undefined && !auth.patient) {
    // Refused before anything is read: the same answer whether or not the record asked for exists.
    const refusal = await ctx.access.breakGlassRefusal(auth.agency, breakGlassReason);
    if (refusal) {
      describeExchange(res, { purpose: 'BTG', criteriaOnDenial: ['SI-L3'] });
      throw forbidden(refusal);
    }
  }
  const decisions = new ConsentLedger(res, {
    ...(auth.patient ? {} : { agency: auth.agency }),
    purpose: intent.purpose,
    ...(breakGlassReason !== undefined ? { breakGlassReason } : {}),
  });
  const notices = ctx.breakGlass;
  if (notices && breakGlassReason !== undefined && !auth.patient) {
    // The request's record goes in with the NP/LP notices of what it read under break-glass: one transaction.
    const log = res.app.locals.log as Logger | undefined;
    res.locals.auditSink = breakGlassSink(
      notices.store,
      res.app.locals.audit as AuditSink,
      () => {
        const requestId = requestIdOf(res);
        const agent = causeOf(res.req, res).agent;
        const at = new Date().toISOString();
        return decisions.breakGlassReads().map(({ personId, references }) => ({
          id: noticeIdOf(requestId, personId),
          requestId,
          agent,
          agencyId: auth.agency,
          personId,
          reason: breakGlassReason,
          read: references,
          at,
        }));
      },
      async (owed) => {
        // The record on to the audit trail before the answer, as every record is; the notices to their queue.
        await ctx.relay.flushQuietly(requestIdOf(res));
        void notices.queue.add(owed).catch((err: unknown) => log?.warn({ err, requestId: requestIdOf(res) }, 'could not queue a break-glass notice; the sweeper will'));
      },
    );
  }
  return {
    agency: auth.agency,
    partnership: auth.partnership,
    ...(auth.practitionerRole ? { practitionerRole: auth.practitionerRole } : {}),
    ...(auth.patient ? { patient: auth.patient } : {}),
    purpose: intent.purpose,
    ...(breakGlassReason !== undefined ? { breakGlassReason } : {}),
    decisions,
  };
}

/** What an exchange about one record is: the person, the record, the category and purpose, the receiving agency when it crosses agencies. */
export function aboutRecord(record: AccessRecord, caller: Caller): ExchangeDescription {
  return {
    subject: `Person/${record.personId}`,
    entities: [{ reference: `Person/${record.personId}`, role: 'subject' }],
    dataCategory: record.category,
    purpose: caller.purpose,
    ...(caller.agency !== record.authorAgency ? { recipientAgency: caller.agency } : {}),
  };
}

/**
 * The value of a guarded read, or its refusal — audited with the criteria a correct
 * denial shows (SI-L3; PD-L5 when consent refused) and the real reason. A resource the
 * caller may not see is answered exactly as an unknown id (404): a refusal never tells
 * that it exists, nor who wrote it. (The check refuses a write only to those who may
 * not read the resource either, so a refused update is the same 404.)
 */
export function permitted<T>(res: Response, caller: Caller, guarded: Guarded<T>): { value: T; record: AccessRecord; decision: AccessDecision & { permit: true } } {
  describeExchange(res, aboutRecord(guarded.record, caller));
  if (!guarded.permitted) {
    describeExchange(res, { criteriaOnDenial: [...guarded.decision.criteria], outcomeDescription: `denied, answered as an unknown id: ${guarded.decision.reason}` });
    throw guarded.unknown();
  }
  return guarded;
}

/** A path parameter as text (Express 5 gives strings for named parameters). */
export function pathParam(req: Request, name: string): string {
  const value = req.params[name];
  if (typeof value !== 'string' || value.length === 0) throw badRequest(`Missing path parameter ${name}`);
  return value;
}

/** The plans type a router serves, from its mount (each route declares it). */
export function entityOf(type: PlansType, id: string) {
  return { reference: `${type}/${id}`, role: 'domain-resource' as const };
}

/**
 * The version an update changes, from `If-Match` — 428 (RFC 6585) when it is missing: a shared
 * plan or Consent is never changed blind, so no agency (or the NP and the LP) overwrites
 * another's change. A stale version is the store's 412.
 */
export function requiredIfMatch(req: Request, what: string): string {
  const ifMatch = req.header('if-match');
  // `If-Match: *` (any version, RFC 9110) is the blind change this refuses: it names no version read.
  if (ifMatch === undefined || ifMatch.trim() === '' || ifMatch.trim() === '*') {
    throw preconditionRequired(`Send If-Match with the version you last read (ETag W/"<versionId>"${ifMatch?.trim() === '*' ? ', not *' : ''}): ${what} is never changed blind, so nobody overwrites another's change`);
  }
  return ifMatch;
}
