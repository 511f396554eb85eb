/**
 * Who may see (or change) a shared plan, assessment or service request: the
 * ONE decision every read path of the plans service asks — read, vread,
 * `_history`, search (before totals and pages are counted), `$render`, `$diff`,
 * `$chronology`. Pure: the caller passes in the ISP's decision for the flow and
 * consent's verdict (services/plans/access.ts loads both, once per request).
 *
 * The "who may see this" record is kept with each resource as `meta.tag`s the
 * hub sets (the author agency, the index Person): `accessRecordOf` reads it back.
 * The contract with consent is written down in /work/notes/plans-access.md and
 * the README's "Plans" section.
 */
import type { Meta, Resource } from 'fhir/r4.js';
import type { IspFlowDecision } from '../../../shared/isp/registry.js';
import { CodeSystems, type DataCategory, type Purpose } from '../../../shared/fhir/systems.js';
import type { ConsentDecision } from './consent-decision.js';

export const PLANS_TYPES = ['CarePlan', 'QuestionnaireResponse', 'ServiceRequest', 'Observation'] as const;
export type PlansType = (typeof PLANS_TYPES)[number];

/** The ISP data category of each type the plans service keeps. */
export const CATEGORY_OF: Readonly<Record<PlansType, DataCategory>> = {
  CarePlan: 'plan',
  QuestionnaireResponse: 'assessment',
  ServiceRequest: 'service-request',
  // A notable event: an entry of the person's chronology in its own right.
  Observation: 'chronology',
};

/** Who may see this record: kept with each resource (its `meta.tag`s), never changed by an update. */
export interface AccessRecord {
  readonly type: PlansType;
  readonly id: string;
  /** The agency (Organization id) that created it. */
  readonly authorAgency: string;
  /** The index Person (MPI) it is about. */
  readonly personId: string;
  readonly category: DataCategory;
  /** A ServiceRequest's assigned agency. */
  readonly performerAgency?: string;
}

/** Who is asking, from the access token. */
export interface Caller {
  readonly agency: string;
  readonly partnership: string;
  /** `PractitionerRole/<id>` when a practitioner acts. */
  readonly practitionerRole?: string;
  /** `Patient/<id>` when the person themselves acts (a patient-scoped token). */
  readonly patient?: string;
  readonly purpose: Purpose;
  /** Break-glass (`X-Purpose-Of-Use: BTG`): the reason the clinician stated. */
  readonly breakGlassReason?: string;
  /** Where consent's decisions of this request are kept for its audit (consent-ledger.ts). */
  readonly decisions?: DecisionLedger;
}

/** Keeps each consent decision of a request, for the request's audit record. */
export interface DecisionLedger {
  add(reference: string, personId: string, category: DataCategory, decision: ConsentDecision): void;
}

export type AccessAction = 'read' | 'write';

/** Consent's answer for one record; `undefined` means consent has no say (then the ISP alone decides). */
export interface ConsentVerdict {
  readonly permit: boolean;
  /** Why, in words a caller can act on (shown in a refusal and in the audit). */
  readonly reason: string;
  /** The Consent that decided (`Consent/<id>`). */
  readonly consent?: string;
  readonly breakGlass?: boolean;
  /**
   * Consent decides before the ISP: break-glass (unscheduled care holds no care-planning flow)
   * and the person's own access (their token names only the portal they signed in through).
   */
  readonly overridesIsp?: boolean;
}

export type AccessBasis = 'author' | 'performer' | 'isp' | 'consent';

export type AccessDecision =
  | {
      readonly permit: true;
      readonly basis: AccessBasis;
      /** The record moved across a partnership boundary (AP-L5, IM-L5). */
      readonly crossesBoundary: boolean;
      /** Criteria the access itself shows (IM-L4 for a flow checked against the signed ISP, IM-L5 across a boundary). */
      readonly criteria: readonly string[];
      readonly consent?: string;
      readonly breakGlass?: boolean;
    }
  | {
      readonly permit: false;
      readonly basis: Exclude<AccessBasis, 'author' | 'performer'>;
      readonly reason: string;
      /** Criteria a correct refusal shows (SI-L3; PD-L5 for consent's). */
      readonly criteria: readonly string[];
      readonly consent?: string;
    };

export interface AccessInput {
  readonly caller: Caller;
  readonly record: AccessRecord;
  readonly action: AccessAction;
  /** The ISP's decision for author agency → caller agency, the record's category and the caller's purpose; `same-agency` when no flow is needed. */
  readonly isp: IspFlowDecision | 'same-agency';
  readonly consent: ConsentVerdict | undefined;
}

/** Whether the caller's agency needs no flow to see the record (it wrote it, or it is the assigned agency). */
export function ownBasis(caller: Caller, record: AccessRecord): 'author' | 'performer' | undefined {
  if (caller.agency === record.authorAgency) return 'author';
  if (record.performerAgency !== undefined && caller.agency === record.performerAgency) return 'performer';
  return undefined;
}

/**
 * The decision. The authoring agency (and a service request's assigned agency)
 * always; anyone else only where the signed ISP lets the record's category flow
 * from the author to them for the purpose, and — where consent has a say — only
 * as consent decides.
 */
export function decideAccess(input: AccessInput): AccessDecision {
  const { caller, record, isp, consent } = input;
  const own = ownBasis(caller, record);
  if (own && !caller.patient) return { permit: true, basis: own, crossesBoundary: false, criteria: [] };
  if (consent?.overridesIsp) {
    return consent.permit
      ? { permit: true, basis: 'consent', crossesBoundary: false, criteria: [], ...(consent.consent ? { consent: consent.consent } : {}), ...(consent.breakGlass ? { breakGlass: true } : {}) }
      : { permit: false, basis: 'consent', reason: consent.reason, criteria: ['SI-L3'] };
  }
  if (isp === 'same-agency' || !isp.allowed) {
    const detail = isp === 'same-agency' ? 'no flow was checked' : isp.detail;
    return {
      permit: false,
      basis: 'isp',
      reason: `The ISP does not let ${record.authorAgency}'s ${record.category} about this person reach ${caller.agency} for ${caller.purpose}: ${detail}`,
      criteria: ['SI-L3', 'IM-L4'],
    };
  }
  const flowCriteria = isp.crossesBoundary ? ['IM-L4', 'IM-L5'] : ['IM-L4'];
  if (consent && !consent.permit) {
    return { permit: false, basis: 'consent', reason: consent.reason, criteria: ['SI-L3', 'PD-L5'], ...(consent.consent ? { consent: consent.consent } : {}) };
  }
  return {
    permit: true,
    basis: consent ? 'consent' : 'isp',
    crossesBoundary: isp.crossesBoundary,
    criteria: flowCriteria,
    ...(consent?.consent ? { consent: consent.consent } : {}),
    ...(consent?.breakGlass ? { breakGlass: true } : {}),
  };
}

/** The tags that carry the access record on a stored resource. */
export function accessTags(authorAgency: string, personId: string): NonNullable<Meta['tag']> {
  return [
    { system: CodeSystems.authorAgency, code: authorAgency },
    { system: CodeSystems.indexPerson, code: personId },
  ];
}

/** A resource's meta with the hub's access tags set (anything a client sent in those systems replaced). */
export function withAccessTags(meta: Meta | undefined, authorAgency: string, personId: string): Meta {
  const others = (meta?.tag ?? []).filter((t) => t.system !== CodeSystems.authorAgency && t.system !== CodeSystems.indexPerson);
  return { ...(meta ?? {}), tag: [...others, ...accessTags(authorAgency, personId)] };
}

/** The value of one of the hub's tags on a resource. */
export function tagValue(resource: Resource, system: string): string | undefined {
  return resource.meta?.tag?.find((t) => t.system === system)?.code;
}

/** The access record of a stored resource; undefined when it carries no hub tags (never stored by this service). */
export function accessRecordOf(resource: Resource & { performer?: readonly { reference?: string }[] }): AccessRecord | undefined {
  const type = resource.resourceType as PlansType;
  if (!PLANS_TYPES.includes(type) || !resource.id) return undefined;
  const authorAgency = tagValue(resource, CodeSystems.authorAgency);
  const personId = tagValue(resource, CodeSystems.indexPerson);
  if (!authorAgency || !personId) return undefined;
  const performerAgency = type === 'ServiceRequest' ? organizationIdOf(resource.performer?.[0]?.reference) : undefined;
  return { type, id: resource.id, authorAgency, personId, category: CATEGORY_OF[type], ...(performerAgency ? { performerAgency } : {}) };
}

/** `Organization/<id>` → `<id>`; anything else → undefined. */
export function organizationIdOf(reference: string | undefined): string | undefined {
  const m = /^Organization\/([A-Za-z0-9\-.]{1,64})$/.exec(reference ?? '');
  return m?.[1];
}
