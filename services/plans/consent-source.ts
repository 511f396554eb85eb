/**
 * Consent's side of the plans service's one access check (access.ts `ConsentSource`):
 * for the records one request touches, the consent decision
 * (domain/consent-decision.ts) of each — over, for each person among them, their
 * Consents as they stand NOW and their Named Person / Lead Professional read now.
 * A person's Consents are read from Redis on every request — each Consent's
 * projection (its rules, written in the same script as every version of it;
 * consent-store.ts), in the same write to Redis as the ISP revision — and only
 * their parsing is kept between requests (kept-consents.ts `recordsNow`): a
 * revoked or narrowed Consent bites on the very next request, whatever tokens
 * are outstanding. The ISP flows are decided once per request for the access
 * check and consent alike (access.ts `RequestIsp`).
 *
 * Every decision is kept in the request's ledger (consent-ledger.ts), which folds
 * them into the exchange's own audit record: BALP AuthZconsent's content (each
 * resource, permit or deny, basis, Consent) and PrivacyDisclosure's (the recipient).
 */
import type { AgencyType, ConsentCategory, DataCategory } from '../../shared/fhir/systems.js';
import type { IspRegistry } from '../../shared/isp/registry.js';
import type { ResourceStore } from '../../shared/store/resource-store.js';
import { RequestIsp, type ConsentSource } from './access.js';
import { personOfPatientReference, type ConsentFactsSources } from './consent-facts.js';
import { KeptConsents } from './kept-consents.js';
import { decideConsent, type AccessIntent, type AccessTarget, type ConsentDecision, type DecisionFacts, type Requester } from './domain/consent-decision.js';
import type { AccessAction, AccessRecord, Caller, ConsentVerdict } from './domain/access.js';
import { namedProfessionalsOf } from './subjects.js';

/** The consent category of each ISP data category the plans service keeps. */
const CONSENT_CATEGORY_OF: Partial<Record<DataCategory, ConsentCategory>> = {
  plan: 'plans',
  assessment: 'assessments',
  'service-request': 'requests',
  chronology: 'chronology',
  alert: 'alerts',
};

const NO_ROLES: readonly string[] = [];

export interface ConsentSourceDeps extends ConsentFactsSources {
  readonly consents: ResourceStore;
  readonly isp: IspRegistry;
  readonly now?: () => Date;
  /** False ONLY for `npm run bench:plans`' baseline: consent then has no say (the ISP alone decides). */
  readonly enforce?: boolean;
}

export class ConsentVerdicts implements ConsentSource {
  /** Each person's Consents, read on every request; their parsing kept while they do not change. */
  private readonly kept: KeptConsents;

  constructor(private readonly deps: ConsentSourceDeps) {
    this.kept = new KeptConsents(deps.consents);
  }

  async verdicts(caller: Caller, records: readonly AccessRecord[], action: AccessAction, isp?: RequestIsp): Promise<readonly (ConsentVerdict | undefined)[]> {
    if (this.deps.enforce === false || records.length === 0) {
      // The shared snapshot is the access check's to await; a failure of it is reported there, not here.
      isp?.snapshot.catch(() => undefined);
      return records.map(() => undefined);
    }
    const now = this.deps.now?.() ?? isp?.now ?? new Date();
    const requestIsp = isp ?? new RequestIsp(this.deps.isp.snapshot(), now);
    // One record (a read): its person, without a set and an array made to find them.
    const persons = records.length === 1 ? [records[0]!.personId] : [...new Set(records.map((r) => r.personId))];
    const needNpLp = caller.patient === undefined && caller.practitionerRole !== undefined;
    // Everything this decision reads, asked now and at once: the ISP snapshot (already asked), each person's
    // Consent projections, and their NP/LP when a practitioner asks.
    const [snapshot, consents, named] = await Promise.all([
      requestIsp.snapshot,
      this.kept.recordsNow(persons),
      needNpLp ? Promise.all(persons.map((personId) => namedProfessionalsOf(this.deps.mpi, this.deps.directory, personId, now))) : undefined,
    ]);
    const requester = await this.requesterOf(caller, snapshot.agencies, now);
    const ispAllows: DecisionFacts['ispAllows'] = (sender, receiver, category, purpose) => requestIsp.flow(snapshot, sender, receiver, category, purpose).allowed;
    const factsOf = (i: number): DecisionFacts => ({
      subjectPersonId: persons[i]!,
      consents: consents[i]!,
      npLpRoles: named?.[i]?.roles ?? NO_ROLES,
      ispAllows,
      now: now.getTime(),
    });
    const facts = persons.length === 1 ? undefined : new Map(persons.map((personId, i) => [personId, factsOf(i)]));
    const only = facts ? undefined : factsOf(0);
    const intent: AccessIntent = caller.breakGlassReason !== undefined ? { purpose: caller.purpose, breakGlass: { reason: caller.breakGlassReason } } : { purpose: caller.purpose };
    return records.map((record) => {
      const category = CONSENT_CATEGORY_OF[record.category] ?? 'plans';
      const target: AccessTarget = record.performerAgency ? { category, authorAgency: record.authorAgency, performerAgency: record.performerAgency } : { category, authorAgency: record.authorAgency };
      const decision = decideConsent(requester, intent, target, only ?? facts!.get(record.personId)!);
      caller.decisions?.add(`${record.type}/${record.id}`, record.personId, record.category, decision);
      return verdictOf(decision, requester, action);
    });
  }

  private async requesterOf(caller: Caller, agencies: ReadonlyMap<string, { readonly type: AgencyType }>, now: Date): Promise<Requester> {
    if (caller.patient) {
      const personId = await personOfPatientReference(this.deps, caller.patient, now);
      return { kind: 'patient', ...(personId ? { personId } : {}) };
    }
    const type = agencies.get(caller.agency)?.type ?? 'partnership';
    return { kind: 'agency', agencyId: caller.agency, agencyType: type, ...(caller.practitionerRole ? { practitionerRole: caller.practitionerRole } : {}) };
  }
}

/**
 * The verdict the access check applies. Break-glass and the person's own access
 * decide before the ISP (A&E holds no care-planning flow; a patient's token names only
 * the portal they signed in through); everything else is decided with the ISP.
 * A person changes their plan only by adding their views ($add-views), never by update.
 */
function verdictOf(decision: ConsentDecision, requester: Requester, action: AccessAction): ConsentVerdict {
  const overridesIsp = requester.kind === 'patient' || (decision.permit ? decision.basis === 'break-glass' : decision.reason.startsWith('break-glass'));
  if (requester.kind === 'patient' && action === 'write') {
    return { permit: false, reason: 'A person adds their views to their plan with $add-views; they do not edit it', overridesIsp: true };
  }
  return {
    permit: decision.permit,
    reason: decision.detail,
    ...(decision.consent ? { consent: decision.consent } : {}),
    ...(decision.permit && decision.basis === 'break-glass' ? { breakGlass: true } : {}),
    ...(overridesIsp ? { overridesIsp: true } : {}),
  };
}
