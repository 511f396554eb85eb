/**
 * One request's consent decisions, audited in the request's own record (before the
 * answer, refused or not): the record carries BALP **AuthZconsent**'s content — each
 * resource decided, permit or deny, with its basis or reason and the deciding Consent,
 * subtype `AuthZ-Consent` — and, when data another agency wrote was handed over, BALP
 * **PrivacyDisclosure**'s (ISO 21089 `disclose`, the receiving agency). One record per
 * exchange: the decision costs no records of its own to build, append, hash and index.
 * A break-glass read says so (purpose `BTG`, the reason on each resource decided).
 */
import type { Response } from 'express';
import type { ExchangeEntity, ExchangePattern } from '../../shared/audit/exchange.js';
import { addDecisions, type ExchangeDecisions } from '../../shared/fhir/exchange-context.js';
import { markDenial } from '../../shared/http/metrics.js';
import type { DataCategory } from '../../shared/fhir/systems.js';
import type { ConsentDecision } from './domain/consent-decision.js';

interface Decided {
  readonly reference: string;
  /** The index Person the resource is about. */
  readonly personId: string;
  readonly category: DataCategory;
  readonly decision: ConsentDecision;
}

export interface LedgerRequest {
  /** The receiving agency (the caller's), or undefined for a person acting for themselves. */
  readonly agency?: string;
  readonly purpose: string;
  readonly breakGlassReason?: string;
}

/** What a break-glass request read about one person: whom, which resources. */
export interface BreakGlassReadOf {
  readonly personId: string;
  readonly references: readonly string[];
}

export class ConsentLedger {
  private readonly decided: Decided[] = [];

  constructor(
    private readonly res: Response,
    private readonly request: LedgerRequest,
  ) {
    addDecisions(res, () => this.decisions());
  }

  /** What this request read under break-glass, per person (the NP/LP notices its record is written with). */
  breakGlassReads(): BreakGlassReadOf[] {
    const read = this.decided.filter((d) => d.decision.permit && d.decision.basis === 'break-glass');
    return [...new Set(read.map((d) => d.personId))].map((personId) => ({ personId, references: [...new Set(read.filter((d) => d.personId === personId).map((d) => d.reference))] }));
  }

  add(reference: string, personId: string, category: DataCategory, decision: ConsentDecision): void {
    const decided = { reference, personId, category, decision };
    this.decided.push(decided);
    // A request refused because consent withheld it counts as a consent denial in the service's metrics (SI-L4).
    if (!decision.permit && decidedByConsent(decided)) markDenial(this.res, 'consent');
  }

  /** The decisions, for the exchange's record (read when the exchange is audited); undefined when nothing was decided. */
  decisions(): ExchangeDecisions | undefined {
    if (this.decided.length === 0) return undefined;
    // One resource decided twice in a request (read, then its history) is one decision.
    const unique = this.decided.length === 1 ? this.decided : [...new Map(this.decided.map((d) => [`${d.reference} ${d.decision.permit}`, d])).values()];
    const entities: ExchangeEntity[] = [];
    const consents = new Set<string>();
    let disclosed = false;
    let byConsent = false;
    let denied = false;
    for (const d of unique) {
      entities.push(entityOf(d));
      if (d.decision.consent) consents.add(d.decision.consent);
      disclosed ||= d.decision.permit && d.decision.crossAgency;
      byConsent ||= decidedByConsent(d);
      denied ||= !d.decision.permit;
    }
    for (const reference of consents) entities.push({ reference, role: 'consent' });
    disclosed &&= this.request.agency !== undefined;
    // PD-L5: the NP/LP's grant — or its absence, or its revocation — decided who saw the record.
    const criteria = byConsent ? PD_L5 : NONE;
    return {
      entities,
      patterns: disclosed ? CONSENT_AND_DISCLOSURE : CONSENT_ONLY,
      criteria,
      criteriaOnDenial: denied ? criteria : NONE,
      purpose: this.request.breakGlassReason !== undefined ? 'BTG' : this.request.purpose,
      ...(disclosed ? { recipientAgency: this.request.agency } : {}),
      ...(this.request.breakGlassReason !== undefined ? { note: `read under break-glass: ${this.request.breakGlassReason}` } : {}),
    };
  }
}

const NONE: readonly string[] = [];
const PD_L5: readonly string[] = ['PD-L5'];
const CONSENT_ONLY: readonly ExchangePattern[] = ['AuthZ-Consent'];
const CONSENT_AND_DISCLOSURE: readonly ExchangePattern[] = ['AuthZ-Consent', 'disclose'];

/**
 * A decided resource as its record's entity: the decision, its basis or reason, its Consent — in the entity's
 * details (BALP AuthZconsent). No description in words beside them: it said the same again, and a denial's
 * words are the record's outcome description already. (With one, a consent-checked read's AuditEvent passed
 * 4 kB, where JSON.stringify's buffer doubles: +4.3 kB of garbage per read, for ~100 bytes of text.)
 */
function entityOf({ reference, decision }: Decided): ExchangeEntity {
  return {
    reference,
    role: 'domain-resource',
    decision: { permit: decision.permit, basis: decision.permit ? decision.basis : decision.reason, ...(decision.consent ? { consent: decision.consent } : {}) },
  };
}

function decidedByConsent({ decision }: Decided): boolean {
  return decision.permit ? decision.basis === 'consent' : decision.reason === 'no-consent' || decision.reason === 'denied-by-consent';
}
