/**
 * The consent decision applied to one request: reads what the decision needs —
 * the subject's Consents (from Redis, now), their Named Person / Lead Professional
 * (the directory, now), the ISP snapshot and the caller's agency — once per
 * request, then decides each resource with the one pure function
 * (domain/consent-decision.ts) and audits every decision with the exchange:
 *
 * - one BALP `AuthZconsent` record (type `authz`, subtype `AuthZ-Consent`) for the
 *   permits and one for the denials, each listing the resources it decided with the
 *   basis or reason and the Consent that decided it;
 * - one BALP `PrivacyDisclosure` record (type `disclosure`) naming the receiving
 *   agency when resources written by another agency are handed over;
 * - a break-glass read: its own `AuthZconsent` record saying so, with the reason.
 *
 * Nothing outlives the request: a Consent revoked a moment ago is read as revoked by
 * the very next request, whatever tokens the caller holds.
 *
 * How the caller asks for break-glass: `X-Purpose-Of-Use: BTG` (HL7 v3 ActReason) with
 * `X-Break-Glass-Reason: <why>`; another purpose of use (an ISP purpose code such as
 * `child-wellbeing`) may be named the same way; none means `care-planning`.
 */
import type { Request, Response } from 'express';
import type { AuthContext } from '../../shared/auth/middleware.js';
import type { ExchangeEntity } from '../../shared/audit/exchange.js';
import { recordDecision } from '../../shared/fhir/exchange-context.js';
import { badRequest, forbidden, type OperationOutcomeError } from '../../shared/fhir/outcome.js';
import type { AgencyType, ConsentCategory, Purpose } from '../../shared/fhir/systems.js';
import { decideFlow, type IspRegistry, type IspSnapshot } from '../../shared/isp/registry.js';
import type { ResourceStore } from '../../shared/store/resource-store.js';
import { consentRecordOf, isPurpose } from './domain/consent.js';
import {
  decideConsent,
  DEFAULT_PURPOSE,
  ISP_CATEGORY,
  refusalStatus,
  type AccessIntent,
  type ConsentDecision,
  type DecisionFacts,
  type Requester,
} from './domain/consent-decision.js';
import { consentsOfPerson } from './consent-store.js';
import { npLpRolesOf, personOfPatientReference, type ConsentFactsSources } from './consent-facts.js';

export const PURPOSE_HEADER = 'x-purpose-of-use';
export const BREAK_GLASS_REASON_HEADER = 'x-break-glass-reason';
/** HL7 v3 ActReason code for break-the-glass access. */
export const BREAK_GLASS = 'BTG';
const MAX_REASON = 500;

export interface ConsentAccessDeps extends ConsentFactsSources {
  readonly consents: ResourceStore;
  readonly isp: IspRegistry;
  readonly now?: () => Date;
  /**
   * When false every decision permits without reading anything — ONLY for
   * `npm run bench:plans`, to measure the same reads unchecked as the baseline.
   */
  readonly enforce?: boolean;
}

/** A resource (or chronology entry) to decide: what it is and who wrote it. */
export interface DecisionTarget {
  readonly reference: string;
  readonly category: ConsentCategory;
  readonly authorAgency: string;
}

/** The purpose and break-glass the request asks for (400 for one it cannot name). */
export function intentOf(req: Request): AccessIntent {
  const purposeHeader = headerOf(req, PURPOSE_HEADER);
  const reason = headerOf(req, BREAK_GLASS_REASON_HEADER);
  if (purposeHeader === BREAK_GLASS) return { purpose: 'emergency-care', breakGlass: { reason: (reason ?? '').slice(0, MAX_REASON) } };
  if (reason !== undefined) throw badRequest(`${BREAK_GLASS_REASON_HEADER} goes with ${PURPOSE_HEADER}: ${BREAK_GLASS}`, BREAK_GLASS_REASON_HEADER);
  if (purposeHeader === undefined) return { purpose: DEFAULT_PURPOSE };
  if (!isPurpose(purposeHeader)) throw badRequest(`${PURPOSE_HEADER} is ${BREAK_GLASS} or one of the ISP's purposes`, PURPOSE_HEADER);
  return { purpose: purposeHeader };
}

function headerOf(req: Request, name: string): string | undefined {
  const value = req.headers[name];
  const text = Array.isArray(value) ? value.join(', ') : value;
  return text === undefined ? undefined : text.trim();
}

export class ConsentAccess {
  constructor(private readonly deps: ConsentAccessDeps) {}

  /** Whether decisions are made at all (false only in the bench's baseline). */
  get enforced(): boolean {
    return this.deps.enforce !== false;
  }

  /** The caller as the decision sees it (a patient token resolved to its Person). */
  async requesterOf(auth: AuthContext, snapshot?: IspSnapshot): Promise<Requester> {
    if (auth.patient) {
      const personId = await personOfPatientReference(this.deps, auth.patient, this.now());
      return { kind: 'patient', ...(personId ? { personId } : {}) };
    }
    const agencies = (snapshot ?? (await this.deps.isp.snapshot())).agencies;
    const agency = agencies.get(auth.agency);
    if (!agency) throw forbidden(`${auth.agency} is not an agency in the directory`);
    return { kind: 'agency', agencyId: agency.id, agencyType: agency.type, ...(auth.practitionerRole ? { practitionerRole: auth.practitionerRole } : {}) };
  }

  /**
   * Reads what deciding about `personId` needs, for this request only. A break-glass
   * request the caller may not make is refused here (403 wrong agency type, 400 no
   * reason), audited with its AuthZconsent record.
   */
  async forRequest(req: Request, res: Response, auth: AuthContext, personId: string): Promise<SubjectAccess> {
    const intent = intentOf(req);
    if (!this.enforced) return new SubjectAccess(res, personId, undefined, intent, undefined);
    const now = this.now();
    const snapshot = await this.deps.isp.snapshot();
    const [requester, consents, npLpRoles] = await Promise.all([
      this.requesterOf(auth, snapshot),
      consentsOfPerson(this.deps.consents, personId),
      npLpRolesOf(this.deps, personId, now),
    ]);
    const facts: DecisionFacts = {
      subjectPersonId: personId,
      consents: consents.map(consentRecordOf),
      npLpRoles,
      ispAllows: (sender, receiver, category, purpose) => decideFlow(snapshot, { senderAgencyId: sender, receiverAgencyId: receiver, category, purpose }, now).allowed,
      now: now.getTime(),
    };
    const access = new SubjectAccess(res, personId, requester, intent, facts);
    access.refuseBadBreakGlass();
    return access;
  }

  private now(): Date {
    return (this.deps.now ?? (() => new Date()))();
  }
}

interface Decided {
  readonly target: DecisionTarget;
  readonly decision: ConsentDecision;
}

/** One request's decisions about one person. */
export class SubjectAccess {
  private readonly decided: Decided[] = [];
  private finished = false;

  constructor(
    private readonly res: Response,
    readonly personId: string,
    readonly requester: Requester | undefined,
    readonly intent: AccessIntent,
    private readonly facts: DecisionFacts | undefined,
  ) {}

  /** Whether this request reads under break-glass. */
  get breakGlass(): boolean {
    return this.intent.breakGlass !== undefined;
  }

  /** The decision for one target (recorded for the audit). */
  decide(target: DecisionTarget): ConsentDecision {
    if (!this.facts || !this.requester) return { permit: true, basis: 'author', crossAgency: false, detail: 'consent check off (benchmark baseline)' };
    const decision = decideConsent(this.requester, this.intent, target, this.facts);
    this.decided.push({ target, decision });
    return decision;
  }

  /** The targets the caller may see, in order (decided before anything is counted or paged). */
  filter<T>(items: readonly T[], targetOf: (item: T) => DecisionTarget): T[] {
    return items.filter((item) => this.decide(targetOf(item)).permit);
  }

  /**
   * Reads one resource: the decision, or the refusal to throw — a 404 as for an
   * unknown id when the caller may not know it exists, a 403 to a person reading
   * someone else's record.
   */
  require(target: DecisionTarget, notFound: () => OperationOutcomeError): void {
    const decision = this.decide(target);
    if (decision.permit) return;
    this.finish();
    if (decision.reason === 'other-person') throw forbidden("A person's own access reaches their own record only");
    throw notFound();
  }

  /** Refuses a break-glass request the caller may not make (before any data is read). */
  refuseBadBreakGlass(): void {
    if (!this.breakGlass || this.requester?.kind !== 'agency') return;
    const probe = this.decide({ reference: `Person/${this.personId}`, category: 'plans', authorAgency: '' });
    if (probe.permit) {
      this.decided.pop();
      return;
    }
    this.finish();
    throw refusal(probe);
  }

  /** Refuses a person reading someone else's record with 403 (used where no resource is read yet). */
  requireSelfIfPatient(): void {
    if (this.requester?.kind !== 'patient') return;
    const probe = this.decide({ reference: `Person/${this.personId}`, category: 'plans', authorAgency: '' });
    if (probe.permit) {
      this.decided.pop();
      return;
    }
    this.finish();
    throw forbidden("A person's own access reaches their own record only");
  }

  /** What was permitted by break-glass (for the NP/LP's notification). */
  get brokenGlassTargets(): DecisionTarget[] {
    return this.decided.filter((d) => d.decision.permit && d.decision.basis === 'break-glass').map((d) => d.target);
  }

  /**
   * Adds this request's decision records to its exchange (once): AuthZconsent for the
   * permits and for the denials, PrivacyDisclosure for what another agency wrote and
   * the caller received. Call before answering (respond writes them with the exchange).
   */
  finish(): void {
    if (this.finished || !this.requester) return;
    this.finished = true;
    const subject = `Person/${this.personId}`;
    const purpose = this.breakGlass ? BREAK_GLASS : this.intent.purpose;
    const permits = this.decided.filter((d) => d.decision.permit);
    const denials = this.decided.filter((d) => !d.decision.permit);
    const entity = ({ target, decision }: Decided): ExchangeEntity => ({
      reference: target.reference,
      role: 'domain-resource',
      description: decision.permit ? `permit (${decision.basis}): ${decision.detail}` : `deny (${decision.reason}): ${decision.detail}`,
    });
    const consentEntities = (list: readonly Decided[]): ExchangeEntity[] =>
      [...new Set(list.flatMap((d) => (d.decision.consent ? [d.decision.consent] : [])))].map((reference) => ({ reference, role: 'consent' as const }));
    const categories = (list: readonly Decided[]) => [...new Set(list.map((d) => ISP_CATEGORY[d.target.category]))].join(',');
    const consentDecided = (list: readonly Decided[]) =>
      list.some((d) => (d.decision.permit ? d.decision.basis === 'consent' : ['no-consent', 'denied-by-consent'].includes(d.decision.reason)));

    for (const [list, outcome] of [[permits, '0'], [denials, '4']] as const) {
      if (list.length === 0) continue;
      recordDecision(this.res, {
        type: 'authz',
        subtype: 'AuthZ-Consent',
        action: 'E',
        outcome,
        outcomeDescription:
          outcome === '0'
            ? `${list.length} permitted${this.breakGlass ? ` under break-glass: ${this.intent.breakGlass?.reason ?? ''}` : ''}`
            : `${list.length} denied`,
        subject,
        entities: [...list.map(entity), ...consentEntities(list)],
        dataCategory: categories(list),
        purpose,
        // PD-L5: the NP/LP's grant (or its absence, or its revocation) decided who saw the record.
        criteria: consentDecided(list) ? ['PD-L5'] : [],
      });
    }
    const disclosed = permits.filter((d) => d.decision.permit && d.decision.crossAgency);
    if (disclosed.length > 0 && this.requester.kind === 'agency') {
      recordDecision(this.res, {
        type: 'disclosure',
        subtype: 'PrivacyDisclosure',
        action: 'R',
        outcome: '0',
        outcomeDescription: `${disclosed.length} resource(s) written by other agencies disclosed to ${this.requester.agencyId}`,
        subject,
        entities: disclosed.map(entity),
        dataCategory: categories(disclosed),
        purpose,
        criteria: [],
        recipientAgency: this.requester.agencyId,
      });
    }
  }
}

function refusal(decision: Extract<ConsentDecision, { permit: false }>): OperationOutcomeError {
  return refusalStatus(decision.reason) === 400 ? badRequest(decision.detail, BREAK_GLASS_REASON_HEADER) : forbidden(decision.detail);
}

/**
 * The delivery re-check of the alerts service (through services/plans/view.ts): may this
 * alert about `personId`, raised by `senderAgency`, reach `recipient` now? The same
 * decision as every read, for the category `alerts` — the ISP's statutory basis stands
 * unless a Consent in force withholds the person's alerts from the recipient (or from
 * everyone). The Consents are read now, so a withholding bites at the next attempt.
 */
export async function alertDeliveryDecision(
  consents: ResourceStore,
  input: { readonly personId: string; readonly senderAgency: string; readonly recipient: { readonly id: string; readonly type: AgencyType }; readonly purpose: Purpose; readonly now: Date },
): Promise<ConsentDecision> {
  const records = (await consentsOfPerson(consents, input.personId)).map(consentRecordOf);
  return decideConsent(
    { kind: 'agency', agencyId: input.recipient.id, agencyType: input.recipient.type },
    { purpose: input.purpose },
    { category: 'alerts', authorAgency: input.senderAgency },
    // The alerts service has checked the ISP for this delivery already; NP/LP standing does not widen an alert.
    { subjectPersonId: input.personId, consents: records, npLpRoles: [], ispAllows: () => true, now: input.now.getTime() },
  );
}
