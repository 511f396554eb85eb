/**
 * Reading an agency's submitted Patient: which local record it is, its CHI, and
 * the demographics the matching engine compares. Pure; every refusal is an
 * OperationOutcomeError naming the offending element, so the agency system can
 * fix exactly that field.
 */
import type { Identifier, Patient } from 'fhir/r4.js';
import { forbidden, invalidIssues, invalidResource } from '../../../shared/fhir/outcome.js';
import { IdentifierSystems } from '../../../shared/fhir/systems.js';
import { validateChi, type ChiScheme } from './chi.js';
import type { DemographicRecord } from './record.js';

/** Who is submitting, and which identifier systems the partnership knows. */
export interface SubmittingAgency {
  readonly agencyId: string;
  /** The submitting agency's own patient-identifier system. */
  readonly system: string;
  /** Every agency's system → that agency's id (to tell "another agency's system" from "unknown system"). */
  readonly systemsByAgency: ReadonlyMap<string, string>;
}

export interface ParsedRegistration {
  /** The agency's local identifier of this record. */
  readonly localIdentifier: { readonly system: string; readonly value: string };
  readonly chi?: { readonly value: string; readonly scheme: ChiScheme };
  /** The demographics to match on; `id` is filled in by the caller (the record id). */
  readonly demographics: Omit<DemographicRecord, 'id'>;
}

const GENDERS = new Set(['male', 'female', 'other', 'unknown']);

export function parseRegistration(patient: Patient, agency: SubmittingAgency, where = 'Patient'): ParsedRegistration {
  const identifiers = patient.identifier ?? [];
  let local: Identifier | undefined;
  let chiIdentifier: Identifier | undefined;
  identifiers.forEach((identifier, i) => {
    const system = identifier.system;
    const path = `${where}.identifier[${i}]`;
    if (!system) throw invalidResource('Every identifier needs a system (the agency system or CHI)', `${path}.system`);
    if (system === IdentifierSystems.chi) {
      if (chiIdentifier) throw invalidResource('A record carries at most one CHI number', path);
      chiIdentifier = identifier;
      return;
    }
    if (system === agency.system) {
      if (local) throw invalidResource('A record carries exactly one identifier in the agency system', path);
      local = identifier;
      return;
    }
    const owner = agency.systemsByAgency.get(system);
    if (owner) {
      throw forbidden(`Agency ${agency.agencyId} may not register records under ${owner}'s identifier system ${system}`);
    }
    throw invalidResource(`Unknown identifier system ${system}: use ${agency.system} (this agency's) or the CHI system`, `${path}.system`);
  });
  if (!local?.value) {
    throw invalidResource(`Missing the agency identifier: an identifier with system ${agency.system} and a value`, `${where}.identifier`);
  }

  const chi = chiIdentifier ? chiOf(patient, where) : undefined;

  return {
    localIdentifier: { system: agency.system, value: local.value },
    chi,
    demographics: { ...demographicsOf(patient, where), agency: agency.agencyId, chi: chi?.value },
  };
}

/**
 * The demographics of a Patient (for registration and for `$match` queries,
 * which carry no agency identifier). Refuses a Patient with neither a name nor
 * a birth date: there is nothing to match on.
 */
export function demographicsOf(patient: Patient, where = 'Patient'): Omit<DemographicRecord, 'id' | 'agency' | 'chi'> {
  const name = patient.name?.find((n) => n.use === 'official') ?? patient.name?.[0];
  const given = (name?.given ?? []).filter((g) => g.trim().length > 0);
  const family = name?.family?.trim() || undefined;
  const textWords = name?.text?.trim() ? name.text.trim().split(/\s+/) : [];
  const hasName = given.length > 0 || family !== undefined || textWords.length > 0;
  if (!hasName && !patient.birthDate) {
    throw invalidIssues([
      {
        severity: 'error',
        code: 'required',
        details: { text: 'A record needs a name or a birth date to be matched' },
        expression: [`${where}.name`, `${where}.birthDate`],
      },
    ]);
  }
  const address = patient.address?.find((a) => a.use === 'home') ?? patient.address?.[0];
  return {
    // A name given only as text ("Rab McDonald") is split: last word the family name.
    given: given.length ? given : textWords.slice(0, -1),
    family: family ?? textWords.at(-1),
    birthDate: patient.birthDate,
    gender: patient.gender && GENDERS.has(patient.gender) ? patient.gender : undefined,
    postcode: address?.postalCode,
    addressLine: address?.line?.join(', '),
    town: address?.city,
    phone: patient.telecom?.find((t) => t.system === 'phone')?.value,
  };
}

/** The CHI in a Patient's identifiers, validated (422 naming the element when invalid). */
export function chiOf(patient: Patient, where = 'Patient'): { value: string; scheme: ChiScheme } | undefined {
  const index = (patient.identifier ?? []).findIndex((i) => i.system === IdentifierSystems.chi);
  if (index < 0) return undefined;
  const checked = validateChi(patient.identifier![index]!.value ?? '');
  if (!checked.valid) throw invalidResource(`Invalid CHI number: ${checked.reason}`, `${where}.identifier[${index}].value`);
  return { value: checked.chi, scheme: checked.scheme };
}

/**
 * The record id for an agency's local identifier: deterministic, so a
 * re-submission updates the same record and PIX needs no lookup index.
 * `<agencyId>.<value>` when that is a valid FHIR id, else a hash of the value.
 */
export function recordIdFor(agencyId: string, value: string, hash: (s: string) => string): string {
  const plain = `${agencyId}.${value}`;
  if (/^[A-Za-z0-9\-.]{1,64}$/.test(plain)) return plain;
  return `${agencyId}.h${hash(value).slice(0, 24)}`.slice(0, 64);
}
