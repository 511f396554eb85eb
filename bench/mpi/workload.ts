/**
 * What the MPI benchmark sends: the synthetic population's records as each
 * agency's transaction Bundles (an agency posts only its own records, under its
 * own identifier system), and `$match` queries — half built from loaded records
 * with a small change (should be found), half from people never loaded (should
 * mostly find nothing).
 */
import type { Bundle, Parameters, Patient } from 'fhir/r4.js';
import { generatePopulation, type SyntheticAgencyRecord } from '../../fixtures/generators/scottish-population.js';
import { Random } from '../../fixtures/generators/random.js';
import { toFhirPatient, toTransactionBundle } from '../../fixtures/generators/to-fhir.js';
import { IdentifierSystems } from '../../shared/fhir/systems.js';

export interface BulkRequest {
  readonly agencyId: string;
  readonly records: number;
  /** The transaction Bundle, serialised before timing starts. */
  readonly body: string;
}

/** Each agency's records in Bundles of `bundleSize`, agencies interleaved (as concurrent agency loads would be). */
export function bulkRequests(records: readonly SyntheticAgencyRecord[], bundleSize: number): BulkRequest[] {
  const byAgency = new Map<string, SyntheticAgencyRecord[]>();
  for (const r of records) {
    const list = byAgency.get(r.agencyId);
    if (list) list.push(r);
    else byAgency.set(r.agencyId, [r]);
  }
  const queues = [...byAgency.entries()].map(([agencyId, list]) => {
    const chunks: BulkRequest[] = [];
    for (let i = 0; i < list.length; i += bundleSize) {
      const chunk = list.slice(i, i + bundleSize);
      chunks.push({ agencyId, records: chunk.length, body: JSON.stringify(toTransactionBundle(chunk)) });
    }
    return chunks;
  });
  const out: BulkRequest[] = [];
  while (queues.some((q) => q.length > 0)) {
    for (const q of queues) {
      const next = q.shift();
      if (next) out.push(next);
    }
  }
  return out;
}

export interface MatchQuery {
  /** The agency asking (a token of that agency). */
  readonly agencyId: string;
  /** The loaded record the query was built from (known queries only). */
  readonly source?: { readonly system: string; readonly value: string };
  readonly body: string;
}

/**
 * `count` queries, alternating known / unknown. Known: a loaded record, asked by its
 * own agency (which always sees its own records), without the agency identifier,
 * with the CHI kept in a third of them, and one small change. Unknown: a person
 * from a population generated with another seed.
 */
export function matchQueries(loaded: readonly SyntheticAgencyRecord[], count: number, seed: number): MatchQuery[] {
  const random = new Random(seed ^ 0x5eed);
  const strangers = generatePopulation({ seed: seed + 1, people: Math.ceil(count / 2) + 10, maxRecords: Math.ceil(count / 2) + 10 }).records;
  const queries: MatchQuery[] = [];
  for (let i = 0; i < count; i++) {
    if (i % 2 === 0) {
      const record = random.pick(loaded);
      const patient = vary(asQuery(record, random.chance(1 / 3)), random);
      queries.push({ agencyId: record.agencyId, source: record.identifier, body: parametersOf(patient) });
    } else {
      const stranger = strangers[(i >> 1) % strangers.length]!;
      queries.push({ agencyId: random.pick(loaded).agencyId, body: parametersOf(asQuery(stranger, false)) });
    }
  }
  return queries;
}

/** Did a `$match` answer include the record the query was built from? */
export function foundSource(responseBody: string, source: { system: string; value: string }): boolean {
  const bundle = JSON.parse(responseBody) as Bundle<Patient>;
  return (bundle.entry ?? []).some((e) => e.resource?.identifier?.some((id) => id.system === source.system && id.value === source.value));
}

/** Number of entries in a `$match` answer. */
export function matchCount(responseBody: string): number {
  return ((JSON.parse(responseBody) as Bundle).entry ?? []).length;
}

function asQuery(record: SyntheticAgencyRecord, keepChi: boolean): Patient {
  const patient = toFhirPatient(record);
  // A query carries no agency identifier and no owner; a CHI only when the asker has one.
  const { managingOrganization: _owner, identifier: identifiers, ...rest } = patient;
  const chi = keepChi ? (identifiers ?? []).filter((id) => id.system === IdentifierSystems.chi) : [];
  return chi.length ? { ...rest, identifier: chi } : rest;
}

/** One small change a person's details often show between two systems. */
function vary(patient: Patient, random: Random): Patient {
  const name = patient.name?.[0];
  switch (random.int(4)) {
    case 0: {
      // A typo in the family name: two neighbouring letters swapped.
      const family = name?.family;
      if (!family || family.length < 4) return patient;
      const at = 1 + random.int(family.length - 2);
      const swapped = family.slice(0, at) + family.charAt(at + 1) + family.charAt(at) + family.slice(at + 2);
      return { ...patient, name: [{ ...name, family: swapped }] };
    }
    case 1: {
      const { address: _a, ...rest } = patient;
      return rest;
    }
    case 2: {
      const { telecom: _t, ...rest } = patient;
      return { ...rest, name: [{ ...name, given: name?.given?.map((g) => g.toUpperCase()), family: name?.family?.toUpperCase() }] };
    }
    default:
      return patient;
  }
}

function parametersOf(patient: Patient): string {
  const parameters: Parameters = {
    resourceType: 'Parameters',
    parameter: [
      { name: 'resource', resource: patient },
      { name: 'count', valueInteger: 10 },
    ],
  };
  return JSON.stringify(parameters);
}
