/** What the plans operations share: who is calling, guarded reads turned into answers or refusals, the exchange description. */
import type { Request, Response } from 'express';
import { authContext } from '../../../shared/auth/middleware.js';
import { describeExchange, type ExchangeDescription } from '../../../shared/fhir/exchange-context.js';
import { badRequest, forbidden } from '../../../shared/fhir/outcome.js';
import { PLANS_PURPOSE, type AccessDecision, type AccessRecord, type Caller, type PlansType } from '../domain/access.js';
import type { Guarded } from '../store.js';

/** The caller as the access check sees them (from the verified token). */
export function callerOf(res: Response): Caller {
  const auth = authContext(res);
  return {
    agency: auth.agency,
    partnership: auth.partnership,
    ...(auth.practitionerRole ? { practitionerRole: auth.practitionerRole } : {}),
    ...(auth.patient ? { patient: auth.patient } : {}),
    purpose: PLANS_PURPOSE,
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
 * The value of a guarded read, or a 403 saying why not — the refusal audited
 * with the criteria a correct denial shows (SI-L3; PD-L5 when consent refused).
 */
export function permitted<T>(res: Response, caller: Caller, guarded: Guarded<T>): { value: T; record: AccessRecord; decision: AccessDecision & { permit: true } } {
  describeExchange(res, aboutRecord(guarded.record, caller));
  if (!guarded.permitted) {
    describeExchange(res, { criteriaOnDenial: [...guarded.decision.criteria] });
    throw forbidden(guarded.decision.reason);
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
