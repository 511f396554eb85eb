/**
 * One request's consent decisions, audited with the request's own record (before
 * the answer, refused or not): a BALP **AuthZconsent** record (type Security Alert,
 * subtype `AuthZ-Consent`) for the permits and one for the denials — each listing
 * the resources decided with the basis or reason and the deciding Consent — and a
 * BALP **PrivacyDisclosure** (`disclose`) naming the receiving agency when data
 * another agency wrote was handed over. A break-glass read says so, with the reason.
 */
import type { Response } from 'express';
import type { ExchangeEntity } from '../../shared/audit/exchange.js';
import { addDecisionRecords, type DecisionRecord } from '../../shared/fhir/exchange-context.js';
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
  /** Called once the answer has gone, when the request read anything under break-glass (the NP/LP's notification). */
  readonly onBreakGlass?: BreakGlassHook;
}

/** What a break-glass request read: about whom, which resources. */
export type BreakGlassHook = (read: { readonly personId: string; readonly references: readonly string[] }) => void;

export class ConsentLedger {
  private readonly decided: Decided[] = [];

  constructor(
    res: Response,
    private readonly request: LedgerRequest,
  ) {
    addDecisionRecords(res, () => this.records());
    const hook = request.onBreakGlass;
    if (hook) {
      // Afterwards: the read is answered (and audited) first; the notice is its own audited exchange.
      res.once('finish', () => {
        const read = this.decided.filter((d) => d.decision.permit && d.decision.basis === 'break-glass');
        for (const personId of new Set(read.map((d) => d.personId))) {
          hook({ personId, references: read.filter((d) => d.personId === personId).map((d) => d.reference) });
        }
      });
    }
  }

  add(reference: string, personId: string, category: DataCategory, decision: ConsentDecision): void {
    this.decided.push({ reference, personId, category, decision });
  }

  /** The decision records for the exchange (read when the exchange is audited). */
  records(): DecisionRecord[] {
    // One resource decided twice in a request (read, then its history) is one decision.
    const unique = [...new Map(this.decided.map((d) => [`${d.reference} ${d.decision.permit}`, d])).values()];
    const permits = unique.filter((d) => d.decision.permit);
    const denials = unique.filter((d) => !d.decision.permit);
    const purpose = this.request.breakGlassReason !== undefined ? 'BTG' : this.request.purpose;
    const out: DecisionRecord[] = [];
    for (const [list, outcome] of [[permits, '0'], [denials, '4']] as const) {
      if (list.length === 0) continue;
      out.push({
        type: 'authz',
        subtype: 'AuthZ-Consent',
        decision: 'consent',
        action: 'E',
        outcome,
        outcomeDescription:
          outcome === '0'
            ? `${list.length} permitted${this.request.breakGlassReason !== undefined ? ` under break-glass: ${this.request.breakGlassReason}` : ''}`
            : `${list.length} denied: ${list[0]!.decision.detail}`,
        ...subjectOf(list),
        entities: [...list.map(entityOf), ...consentEntities(list)],
        dataCategory: categoriesOf(list),
        purpose,
        // PD-L5: the NP/LP's grant — or its absence, or its revocation — decided who saw the record.
        criteria: list.some(decidedByConsent) ? ['PD-L5'] : [],
      });
    }
    const disclosed = permits.filter((d) => d.decision.permit && d.decision.crossAgency);
    if (disclosed.length > 0 && this.request.agency !== undefined) {
      out.push({
        type: 'disclosure',
        subtype: 'PrivacyDisclosure',
        decision: 'consent',
        action: 'R',
        outcome: '0',
        outcomeDescription: `${disclosed.length} resource(s) written by other agencies disclosed to ${this.request.agency}`,
        ...subjectOf(disclosed),
        entities: disclosed.map(entityOf),
        dataCategory: categoriesOf(disclosed),
        purpose,
        criteria: [],
        recipientAgency: this.request.agency,
      });
    }
    return out;
  }
}

function entityOf({ reference, decision }: Decided): ExchangeEntity {
  return {
    reference,
    role: 'domain-resource',
    description: decision.permit ? `permit (${decision.basis}): ${decision.detail}` : `deny (${decision.reason}): ${decision.detail}`,
  };
}

function consentEntities(list: readonly Decided[]): ExchangeEntity[] {
  return [...new Set(list.flatMap((d) => (d.decision.consent ? [d.decision.consent] : [])))].map((reference) => ({ reference, role: 'consent' as const }));
}

/** The person the decisions are about, when they are about one (as every read and a person's search are). */
function subjectOf(list: readonly Decided[]): { subject?: string } {
  const persons = [...new Set(list.map((d) => d.personId))];
  return persons.length === 1 ? { subject: `Person/${persons[0]!}` } : {};
}

function categoriesOf(list: readonly Decided[]): string {
  return [...new Set(list.map((d) => d.category))].join(',');
}

function decidedByConsent({ decision }: Decided): boolean {
  return decision.permit ? decision.basis === 'consent' : decision.reason === 'no-consent' || decision.reason === 'denied-by-consent';
}
