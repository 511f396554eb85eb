/**
 * What the audit service's search indexes hold for one audit stream entry. Pure:
 * `search-index.ts` writes these terms as sorted-set members (score = the time the
 * exchange was recorded), and `audit-search.ts` reads queries into the same terms,
 * so query and index agree on every character.
 *
 * Terms:
 *   agent:<ref>       each acting party: `Organization/<agency>`, `PractitionerRole/<id>`,
 *                     `Patient/<id>` (the hub's own service agent is not indexed)
 *   subject:<ref>     the person the exchange is about as recorded (`Patient/…`, `Person/…`)
 *   outcome:<code>    `0`, `4`, `8`, `12`
 *   type:<code>       AuditEvent.type code (`rest`, `110114`, …)
 *   subtype:<code>    each AuditEvent.subtype code (`read`, `$match`, `transmit`, `AuthZ-Consent`…)
 *   criterion:<code>  each maturity criterion the exchange claims, whatever its outcome
 *   service:<name>    the hub service that recorded it
 *   partnership:<id>  the acting agency's partnership (the report's `--partnership`)
 * Evidence (the report's counters): the criteria that *count* for this entry under
 * `countsAsEvidence`, globally and per partnership of the acting agency.
 *
 * Types and subtypes are indexed by code alone: the codes the hub writes do not
 * collide across the code systems it uses, and a query's `system|code` is matched
 * on its code (see `audit-search.ts`).
 */
import type { AuditEvent } from 'fhir/r4.js';
import type { AuditEntry } from '../../../shared/audit/audit-entry.js';
import { Extensions } from '../../../shared/fhir/systems.js';
import { isCriterionCode, type CriterionCode } from '../../../shared/maturity/catalogue.js';
import { countsAsEvidence } from './evidence-rule.js';

export interface EntryTerms {
  /** AuditEvent.recorded in epoch ms (the sort key and date filter of every index). */
  readonly score: number;
  readonly terms: readonly string[];
  readonly evidence: readonly CriterionCode[];
  /** The acting agency's partnership (`Organization/<id>` → `<id>`), when known. */
  readonly partnership?: string;
}

export const term = {
  agent: (ref: string) => `agent:${ref}`,
  subject: (ref: string) => `subject:${ref}`,
  outcome: (code: string) => `outcome:${code}`,
  type: (code: string) => `type:${code}`,
  subtype: (code: string) => `subtype:${code}`,
  criterion: (code: string) => `criterion:${code}`,
  service: (name: string) => `service:${name}`,
  partnership: (id: string) => `partnership:${id}`,
} as const;

/** The terms of one entry; the event is parsed once by the caller. */
export function termsOfEntry(entry: AuditEntry, event: AuditEvent): EntryTerms {
  const parsed = Date.parse(entry.recorded);
  const score = Number.isFinite(parsed) ? parsed : 0;
  const terms = new Set<string>();
  let partnership: string | undefined;
  for (const agent of event.agent ?? []) {
    const ref = agent.who?.reference;
    if (ref && agent.requestor) terms.add(term.agent(ref));
    for (const ext of agent.extension ?? []) {
      if (ext.url === Extensions.partnership && ext.valueReference?.reference) partnership ??= idOf(ext.valueReference.reference);
    }
  }
  if (entry.agency) terms.add(term.agent(`Organization/${entry.agency}`));
  if (entry.subject) terms.add(term.subject(entry.subject));
  terms.add(term.outcome(entry.outcome));
  if (event.type?.code) terms.add(term.type(event.type.code));
  for (const s of event.subtype ?? []) if (s.code) terms.add(term.subtype(s.code));
  if (entry.service) terms.add(term.service(entry.service));
  if (partnership) terms.add(term.partnership(partnership));
  const evidence: CriterionCode[] = [];
  for (const code of entry.criteria ? entry.criteria.split(',') : []) {
    if (!isCriterionCode(code)) continue;
    terms.add(term.criterion(code));
    if (countsAsEvidence(code, entry.outcome)) evidence.push(code);
  }
  return { score, terms: [...terms], evidence, ...(partnership ? { partnership } : {}) };
}

function idOf(reference: string): string {
  return reference.slice(reference.lastIndexOf('/') + 1);
}
