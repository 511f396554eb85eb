/** What the plans operations share: who is calling, guarded reads turned into answers or refusals, the exchange description. */
import type { Request, Response } from 'express';
import { authContext } from '../../../shared/auth/middleware.js';
import { describeExchange, type ExchangeDescription } from '../../../shared/fhir/exchange-context.js';
import { badRequest, forbidden } from '../../../shared/fhir/outcome.js';
import { bearerToken } from '../../../shared/auth/middleware.js';
import { causeOf, requestIdOf } from '../../../shared/fhir/exchange-context.js';
import { notifyBreakGlass } from '../break-glass.js';
import { intentOf } from '../consent-access.js';
import type { PlansContext } from '../context.js';
import { ConsentLedger, type BreakGlassHook } from '../consent-ledger.js';
import { type AccessDecision, type AccessRecord, type Caller, type PlansType } from '../domain/access.js';
import type { Guarded } from '../store.js';

/**
 * The caller as the access check sees them (from the verified token and the request's
 * `X-Purpose-Of-Use` / `X-Break-Glass-Reason`: 400 for a purpose it cannot name or
 * break-glass without a reason, 403 for break-glass by an agency type not allowed it —
 * both before anything is read), with the ledger that audits each consent decision of
 * this request in its own record (AuthZconsent's content, the disclosure) and, after a break-glass read, has the
 * NP/LP notified (`onBreakGlass`).
 */
export async function callerOf(res: Response, ctx: Pick<PlansContext, 'breakGlass' | 'access'>): Promise<Caller> {
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
  const notifier = ctx.breakGlass;
  const onBreakGlass: BreakGlassHook | undefined =
    notifier && breakGlassReason !== undefined
      ? ({ personId, references }) =>
          void notifyBreakGlass(notifier, {
            requestId: requestIdOf(res),
            agent: causeOf(res.req, res).agent,
            agencyId: auth.agency,
            bearer: bearerToken(res.req.headers.authorization) ?? '',
            personId,
            reason: breakGlassReason,
            read: references,
            at: new Date(),
          })
      : undefined;
  const decisions = new ConsentLedger(res, {
    ...(auth.patient ? {} : { agency: auth.agency }),
    purpose: intent.purpose,
    ...(breakGlassReason !== undefined ? { breakGlassReason } : {}),
    ...(onBreakGlass ? { onBreakGlass } : {}),
  });
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
