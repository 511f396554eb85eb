/**
 * A person's Consent as the hub reads it — FHIR R4 Consent in IHE PCF's shape
 * (Privacy Consent on FHIR) — and the rules the consent decision applies. Pure.
 *
 * Shape accepted (anything else is refused with a 422 naming the element):
 * - `scope` `patient-privacy` (`CodeSystems.consentScope`); `patient` = the person;
 *   `status` `active` (in force) or `inactive` (revoked); `draft`/`proposed`/`rejected`/
 *   `entered-in-error` are kept but never grant anything.
 * - `provision` — the base rule (PCF "basic deny" by default: `type` absent means `deny`,
 *   which is also what the hub does with no Consent at all) with its `period`, the
 *   Consent's validity; its nested `provision`s are the exceptions: each `permit` or
 *   `deny`, for `actor`s (`reference` = `Organization/<agency>` or
 *   `PractitionerRole/<id>`; none = anyone), `class`es (`CodeSystems.consentCategory`:
 *   plans, assessments, requests, chronology, alerts; none = every category),
 *   `purpose`s (`CodeSystems.purpose`, the ISP's purposes; none = any) and a `period`.
 * - A base provision of `type: permit` with actors is read the same way as one nested
 *   permit (a flat grant).
 *
 * Narrowing, extending and revoking are updates of the same Consent (fewer classes, a
 * later `period.end`, `status: inactive`), each a new version.
 */
import type { Coding, Consent, ConsentProvision, Period } from 'fhir/r4.js';
import { fhirDateSpan } from '../../../shared/isp/dates.js';
import { CONSENT_CATEGORIES, CodeSystems, PURPOSES, type ConsentCategory, type Purpose } from '../../../shared/fhir/systems.js';

export type ConsentStatus = NonNullable<Consent['status']>;

/** An actor a provision names: an agency or one practitioner role. */
export type ConsentActor = { readonly kind: 'agency'; readonly id: string } | { readonly kind: 'practitioner-role'; readonly id: string };

/** A time span as epoch milliseconds: `start` inclusive, `end` exclusive; either may be open. */
export interface Span {
  readonly start?: number;
  readonly end?: number;
}

export interface ConsentRule {
  readonly type: 'permit' | 'deny';
  /** Empty: anyone. */
  readonly actors: readonly ConsentActor[];
  /** Empty: every category. */
  readonly categories: readonly ConsentCategory[];
  /** Empty: any purpose. */
  readonly purposes: readonly Purpose[];
  readonly period: Span;
}

/** A Consent read into what the decision needs. */
export interface ConsentRecord {
  /** `Consent/<id>`. */
  readonly reference: string;
  readonly status: ConsentStatus;
  /** The Consent's own validity (its base provision's period). */
  readonly period: Span;
  readonly rules: readonly ConsentRule[];
}

/** A problem with a submitted Consent: what is wrong and where (FHIRPath). */
export interface ConsentProblem {
  readonly text: string;
  readonly expression: string;
}

const SCOPE_CODE = 'patient-privacy';

/** The references a Consent's `patient` may take: any agency's record of the person. */
export function patientOf(consent: Consent): string | undefined {
  return consent.patient?.reference;
}

/** Everything wrong with a submitted Consent, as the hub reads it (empty: acceptable). */
export function consentProblems(consent: Consent): ConsentProblem[] {
  const problems: ConsentProblem[] = [];
  if (!codingsOf(consent.scope?.coding).some((c) => c.system === CodeSystems.consentScope && c.code === SCOPE_CODE)) {
    problems.push({ text: `Consent.scope must be ${CodeSystems.consentScope}|${SCOPE_CODE} (IHE PCF)`, expression: 'Consent.scope' });
  }
  if (!consent.patient?.reference) problems.push({ text: 'Consent.patient must name the person', expression: 'Consent.patient' });
  const base = consent.provision;
  if (!base) {
    problems.push({ text: 'Consent.provision is required: the base rule and the permits it makes', expression: 'Consent.provision' });
    return problems;
  }
  periodProblem(base.period, 'Consent.provision.period', problems);
  const nested = base.provision ?? [];
  nested.forEach((p, i) => provisionProblems(p, `Consent.provision.provision[${i}]`, problems));
  if (base.type === 'permit' || (base.actor ?? []).length > 0) provisionProblems({ ...base, provision: undefined }, 'Consent.provision', problems);
  if (nested.length === 0 && (base.actor ?? []).length === 0) {
    problems.push({ text: 'Consent.provision names no one: give actor(s) on the provision or nested provisions', expression: 'Consent.provision' });
  }
  return problems;
}

function provisionProblems(p: ConsentProvision, at: string, problems: ConsentProblem[]): void {
  if ((p.provision ?? []).length > 0) problems.push({ text: 'provisions nest one level deep only', expression: `${at}.provision` });
  (p.actor ?? []).forEach((a, i) => {
    if (!actorOf(a.reference?.reference)) {
      problems.push({ text: 'an actor is Organization/<agency id> or PractitionerRole/<id>', expression: `${at}.actor[${i}].reference` });
    }
  });
  (p.class ?? []).forEach((c, i) => {
    if (c.system !== CodeSystems.consentCategory || !isConsentCategory(c.code)) {
      problems.push({ text: `unknown data category ${c.system ?? ''}|${c.code ?? ''}: use ${CodeSystems.consentCategory} ${CONSENT_CATEGORIES.join(', ')}`, expression: `${at}.class[${i}]` });
    }
  });
  (p.purpose ?? []).forEach((c, i) => {
    if (c.system !== CodeSystems.purpose || !isPurpose(c.code)) {
      problems.push({ text: `unknown purpose ${c.system ?? ''}|${c.code ?? ''}: use ${CodeSystems.purpose} ${PURPOSES.join(', ')}`, expression: `${at}.purpose[${i}]` });
    }
  });
  periodProblem(p.period, `${at}.period`, problems);
}

/**
 * A period the consent decision (`spanOf`) can honour. R4 validation runs first and refuses most bad periods (per-1,
 * calendar dates), so this is reached only where the two read a period differently — and both are real: per-1
 * compares a date with a zoned dateTime over every zone (±14 h), where the decision reads dates as UTC days, so
 * `start 2027-01-02, end 2027-01-01T20:00:00Z` passes per-1 but is a grant that would never apply: refused here
 * (services/plans/consent.int.test.ts). An end the decision could not read would make a grant that never expires, so
 * one is refused too — though every R4 dateTime reads now (a leap second as the last millisecond of its minute,
 * shared/fhir/leap-second.ts), so only a value R4 validation already refused could be one.
 */
function periodProblem(period: Period | undefined, at: string, problems: ConsentProblem[]): void {
  if (!period) return;
  const start = period.start !== undefined ? fhirDateSpan(period.start) : undefined;
  const end = period.end !== undefined ? fhirDateSpan(period.end) : undefined;
  if (period.start !== undefined && !start) problems.push({ text: `${period.start} is not a date the consent decision can read`, expression: `${at}.start` });
  if (period.end !== undefined && !end) problems.push({ text: `${period.end} is not a date the consent decision can read`, expression: `${at}.end` });
  if (start && end && end.end.getTime() <= start.start.getTime()) {
    problems.push({ text: `the period ends (${period.end}) before it starts (${period.start}), reading dates as UTC days: the grant would never apply`, expression: at });
  }
}

/**
 * The Consent as rules. Call only on a Consent without `consentProblems` (the
 * store keeps only those); anything unreadable is dropped rather than guessed at.
 */
export function consentRecordOf(consent: Consent): ConsentRecord {
  const base = consent.provision ?? {};
  const nested = base.provision ?? [];
  const rules: ConsentRule[] = nested.map(ruleOf);
  if (base.type === 'permit' || (base.actor ?? []).length > 0) rules.push(ruleOf({ ...base, type: base.type ?? 'permit' }));
  return {
    reference: `Consent/${consent.id ?? ''}`,
    status: consent.status ?? 'draft',
    period: spanOf(base.period),
    rules,
  };
}

function ruleOf(p: ConsentProvision): ConsentRule {
  return {
    // A nested provision without a type is an exception to the base "deny": a permit.
    type: p.type ?? 'permit',
    actors: (p.actor ?? []).flatMap((a) => {
      const actor = actorOf(a.reference?.reference);
      return actor ? [actor] : [];
    }),
    categories: (p.class ?? []).flatMap((c) => (c.system === CodeSystems.consentCategory && isConsentCategory(c.code) ? [c.code] : [])),
    purposes: (p.purpose ?? []).flatMap((c) => (c.system === CodeSystems.purpose && isPurpose(c.code) ? [c.code] : [])),
    period: spanOf(p.period),
  };
}

/** A period as a span: a date covers its whole day (an end of "2027-03-31" still holds that day). */
export function spanOf(period: Period | undefined): Span {
  const start = period?.start !== undefined ? fhirDateSpan(period.start)?.start.getTime() : undefined;
  const end = period?.end !== undefined ? fhirDateSpan(period.end)?.end.getTime() : undefined;
  return { ...(start !== undefined ? { start } : {}), ...(end !== undefined ? { end } : {}) };
}

export function spanCovers(span: Span, at: number): boolean {
  return (span.start === undefined || at >= span.start) && (span.end === undefined || at < span.end);
}

export function actorOf(reference: string | undefined): ConsentActor | undefined {
  const m = /^(Organization|PractitionerRole)\/([A-Za-z0-9\-.]{1,64})$/.exec(reference ?? '');
  if (!m) return undefined;
  return m[1] === 'Organization' ? { kind: 'agency', id: m[2]! } : { kind: 'practitioner-role', id: m[2]! };
}

export function isConsentCategory(code: unknown): code is ConsentCategory {
  return typeof code === 'string' && (CONSENT_CATEGORIES as readonly string[]).includes(code);
}

export function isPurpose(code: unknown): code is Purpose {
  return typeof code === 'string' && (PURPOSES as readonly string[]).includes(code);
}

function codingsOf(codings: Coding[] | undefined): Coding[] {
  return codings ?? [];
}
