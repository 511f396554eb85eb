/**
 * How a plan names the person it is about: a Patient identified by an agency's
 * own identifier (`https://fhir.infoshare.scot/id/patient/<agency>|<value>`) or
 * by CHI, or a literal reference to an MPI record (`Patient/<record id>`). The
 * plans service resolves it to the index Person (subjects.ts). Pure.
 */
import type { Identifier, Reference } from 'fhir/r4.js';
import { IdentifierSystems } from '../../../shared/fhir/systems.js';

export type SubjectKey =
  | { readonly kind: 'agency'; readonly agency: string; readonly value: string }
  | { readonly kind: 'chi'; readonly value: string }
  | { readonly kind: 'record'; readonly recordId: string };

const AGENCY_SYSTEM_PREFIX = `${IdentifierSystems.agencyPatientPrefix}/`;
const ID = /^[A-Za-z0-9\-.]{1,64}$/;

/** The key an identifier names, or undefined when it is neither an agency identifier nor a CHI. */
export function keyOfIdentifier(identifier: Pick<Identifier, 'system' | 'value'>): SubjectKey | undefined {
  const { system, value } = identifier;
  if (!system || !value) return undefined;
  if (system === IdentifierSystems.chi) return { kind: 'chi', value: value.replace(/\s/g, '') };
  if (system.startsWith(AGENCY_SYSTEM_PREFIX)) {
    const agency = system.slice(AGENCY_SYSTEM_PREFIX.length);
    return ID.test(agency) ? { kind: 'agency', agency, value } : undefined;
  }
  return undefined;
}

/** The key of a resource's `subject`: its identifier first, else a `Patient/<record id>` reference. */
export function keyOfReference(subject: Reference | undefined): SubjectKey | undefined {
  if (!subject) return undefined;
  if (subject.identifier) return keyOfIdentifier(subject.identifier);
  const m = /^Patient\/([A-Za-z0-9\-.]{1,64})$/.exec(subject.reference ?? '');
  return m ? { kind: 'record', recordId: m[1]! } : undefined;
}

/** A search's or a path's text: `system|value`, a bare 10-digit CHI, or an MPI record id. */
export function keyOfText(text: string): SubjectKey | undefined {
  const bar = text.indexOf('|');
  if (bar >= 0) return keyOfIdentifier({ system: text.slice(0, bar), value: text.slice(bar + 1) });
  if (/^\d{10}$/.test(text)) return { kind: 'chi', value: text };
  const record = /^(?:Patient\/)?([A-Za-z0-9\-.]{1,64})$/.exec(text);
  return record ? { kind: 'record', recordId: record[1]! } : undefined;
}

/** The key in words, for a refusal. */
export function describeKey(key: SubjectKey): string {
  switch (key.kind) {
    case 'agency':
      return `${key.agency}'s identifier ${key.value}`;
    case 'chi':
      return `CHI ${key.value}`;
    case 'record':
      return `Patient/${key.recordId}`;
  }
}
