/**
 * Consent's side of the plans service's one access check (access.ts `ConsentSource`):
 * for the records one request touches, the consent decision
 * (domain/consent-decision.ts) of each — reading, for each person among them, their
 * Consents and Named Person / Lead Professional from Redis NOW (never cached beyond
 * the call), so a revoked or narrowed Consent bites on the very next request.
 *
 * Every decision is kept in the request's ledger (consent-ledger.ts), which folds
 * them into the exchange's own audit record: BALP AuthZconsent's content (each
 * resource, permit or deny, basis, Consent) and PrivacyDisclosure's (the recipient).
 */
import type { AgencyType, ConsentCategory, DataCategory } from '../../shared/fhir/systems.js';
import { decideFlow, type IspRegistry, type IspSnapshot } from '../../shared/isp/registry.js';
import type { ResourceStore } from '../../shared/store/resource-store.js';
import type { ConsentSource } from './access.js';
import { consentsOfPerson } from './consent-store.js';
import { personOfPatientReference, type ConsentFactsSources } from './consent-facts.js';
import { consentRecordOf } from './domain/consent.js';
import { decideConsent, type ConsentDecision, type DecisionFacts, type Requester } from './domain/consent-decision.js';
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

export interface ConsentSourceDeps extends ConsentFactsSources {
  readonly consents: ResourceStore;
  readonly isp: IspRegistry;
  readonly now?: () => Date;
  /** False ONLY for `npm run bench:plans`' baseline: consent then has no say (the ISP alone decides). */
  readonly enforce?: boolean;
}

export class ConsentVerdicts implements ConsentSource {
  constructor(private readonly deps: ConsentSourceDeps) {}

  async verdicts(caller: Caller, records: readonly AccessRecord[], action: AccessAction, current?: Promise<IspSnapshot>): Promise<readonly (ConsentVerdict | undefined)[]> {
    if (this.deps.enforce === false || records.length === 0) {
      // The shared snapshot is the access check's to await; a failure of it is reported there, not here.
      current?.catch(() => undefined);
      return records.map(() => undefined);
    }
    const now = (this.deps.now ?? (() => new Date()))();
    const persons = [...new Set(records.map((r) => r.personId))];
    const needNpLp = caller.patient === undefined && caller.practitionerRole !== undefined;
    // Everything this decision reads, read now and at once: the ISP snapshot, each person's Consents (and NP/LP).
    const [snapshot, read] = await Promise.all([
      current ?? this.deps.isp.snapshot(),
      Promise.all(
        persons.map((personId) =>
          Promise.all([
            consentsOfPerson(this.deps.consents, personId),
            needNpLp ? namedProfessionalsOf(this.deps.mpi, this.deps.directory, personId, now) : undefined,
          ]),
        ),
      ),
    ]);
    const requester = await this.requesterOf(caller, snapshot.agencies);
    const facts = new Map<string, DecisionFacts>(
      persons.map((personId, i): [string, DecisionFacts] => {
        const [consents, named] = read[i]!;
        return [
          personId,
          {
            subjectPersonId: personId,
            consents: consents.map(consentRecordOf),
            npLpRoles: named?.roles ?? [],
            ispAllows: (sender, receiver, category, purpose) => decideFlow(snapshot, { senderAgencyId: sender, receiverAgencyId: receiver, category, purpose }, now).allowed,
            now: now.getTime(),
          },
        ];
      }),
    );
    const intent = { purpose: caller.purpose, ...(caller.breakGlassReason !== undefined ? { breakGlass: { reason: caller.breakGlassReason } } : {}) };
    return records.map((record) => {
      const category = CONSENT_CATEGORY_OF[record.category] ?? 'plans';
      const decision = decideConsent(
        requester,
        intent,
        { category, authorAgency: record.authorAgency, ...(record.performerAgency ? { performerAgency: record.performerAgency } : {}) },
        facts.get(record.personId)!,
      );
      caller.decisions?.add(`${record.type}/${record.id}`, record.personId, record.category, decision);
      return verdictOf(decision, requester, action);
    });
  }

  private async requesterOf(caller: Caller, agencies: ReadonlyMap<string, { readonly type: AgencyType }>): Promise<Requester> {
    if (caller.patient) {
      const personId = await personOfPatientReference(this.deps, caller.patient, (this.deps.now ?? (() => new Date()))());
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
