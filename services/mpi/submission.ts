/**
 * An agency's record as the registrar takes it: the submitting agency as the
 * partnership knows it, and the record filed under that agency. Used by the
 * HTTP operations and by the background-load worker alike.
 */
import type { Patient } from 'fhir/r4.js';
import { parseRegistration, recordIdFor, type SubmittingAgency } from './domain/from-patient.js';
import type { PartnershipSnapshot } from './partnership.js';
import { identifierHash, type Submission } from './registration.js';

/** The agency as registration needs it, or undefined when it is not an active agency of a partnership. */
export function activeSubmittingAgency(partnership: PartnershipSnapshot, agencyId: string): SubmittingAgency | undefined {
  const agency = partnership.agency(agencyId);
  if (!agency || !agency.active || agency.type === 'partnership') return undefined;
  return { agencyId: agency.id, system: agency.patientIdentifierSystem, systemsByAgency: partnership.systemsByAgency };
}

export function submissionOf(patient: Patient, agency: SubmittingAgency, where?: string): Submission {
  const parsed = parseRegistration(patient, agency, where);
  const { id: _ignored, meta: _meta, ...content } = patient;
  return {
    recordId: recordIdFor(agency.agencyId, parsed.localIdentifier.value, identifierHash),
    // The agency system owns the record: it is filed under that agency whatever the body said.
    patient: { ...content, resourceType: 'Patient', managingOrganization: { reference: `Organization/${agency.agencyId}` } },
    parsed,
  };
}
