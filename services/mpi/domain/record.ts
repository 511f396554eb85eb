/**
 * The matching engine's input: the demographics of one agency record, as the MPI
 * service reads them from a FHIR Patient. Everything except `id` and `given` is
 * optional because agency systems hold very different subsets (education and
 * housing rarely hold a CHI; police may hold no postcode).
 */
export interface DemographicRecord {
  /** Stable key of the agency record (the service uses the Patient id). */
  readonly id: string;
  /** Agency (Organization) id. */
  readonly agency?: string;
  /** A CHI number already validated by `validateChi` (ten digits). */
  readonly chi?: string;
  /** Forenames in order (Patient.name.given); several words may also sit in one entry. */
  readonly given: readonly string[];
  readonly family?: string;
  /** YYYY-MM-DD; partial dates allowed: YYYY or YYYY-MM. */
  readonly birthDate?: string;
  readonly gender?: 'male' | 'female' | 'other' | 'unknown';
  /** UK postcode, any spacing or case. */
  readonly postcode?: string;
  /** Address lines before the town, joined by ", " (Patient.address.line): "Flat 2/1, 14 Main Street". */
  readonly addressLine?: string;
  /** Town or city (Patient.address.city). */
  readonly town?: string;
  readonly phone?: string;
}
