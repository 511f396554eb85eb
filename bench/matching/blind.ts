/**
 * The blind set (fixtures/blind/, written from issue 12's description without reading the matcher,
 * the held-out proxy or the other generators) measured as issue 12 measured the held-out set: a
 * hub with its shipped settings, the six agency systems' transaction Bundles of 500, the hub left
 * to settle by itself (its own estimation and re-clustering pass), then `$ihe-pix` for every record
 * (through-api.ts). No manual step, nothing estimated or tuned by the benchmark.
 */
import { blindTransactionBundles } from '../../fixtures/blind/fhir.js';
import { agencyPatientSystem } from '../../shared/fhir/systems.js';
import type { BlindRecord } from '../../fixtures/blind/records.js';
import { generateBlindSet } from '../../fixtures/blind/blind-set.js';
import { analyseErrors, type ErrorAnalysis } from './heldout-errors.js';
import { round } from './metrics.js';
import { BUNDLE_SIZE, measureAsLoaded, recordId, withHub, type LoadableSet, type SettledHub, type StageFigures } from './through-api.js';

export interface BlindRun {
  readonly seed: number;
  readonly records: number;
  readonly people: number;
  readonly loadRecordsPerSecond: number;
  readonly figures: StageFigures;
  readonly hub: SettledHub;
  /** Records per agency and the share of them carrying the CHI. */
  readonly agencies: Readonly<Record<string, { readonly records: number; readonly chiShare: number }>>;
  /** How many records carry each injected error. */
  readonly noise: Readonly<Record<string, number>>;
  /**
   * Persons holding records with two or more different CHIs — two registered people in one Person
   * (a CHI wrongly on a family member's record, or a link across two people's CHIs) — and how many
   * of them hold records of more than one true person.
   */
  readonly personsWithSeveralChis: { readonly persons: number; readonly ofSeveralPeople: number };
  readonly errors: ErrorAnalysis;
}

export async function runBlindSet(seed: number, progress: (message: string) => void): Promise<BlindRun> {
  const set = generateBlindSet({ seed });
  const loadable: LoadableSet = { records: set.records, transactions: blindTransactionBundles(set.records, BUNDLE_SIZE), patientSystem: agencyPatientSystem };
  progress(`blind set seed ${seed}: ${set.records.length} records of ${set.people.length} people; a hub (directory + MPI, private Redis) with its shipped settings`);
  const { figures, hub, personOf, reviews, loadSeconds } = await withHub({}, (h) => measureAsLoaded(h, loadable, progress));
  const agencies: Record<string, { records: number; chiShare: number }> = {};
  for (const r of set.records) {
    const a = (agencies[r.agencyId] ??= { records: 0, chiShare: 0 });
    a.records++;
    if (r.chi) a.chiShare++;
  }
  for (const a of Object.values(agencies)) a.chiShare = round(a.chiShare / a.records, 3);
  const noise: Record<string, number> = {};
  for (const r of set.records) for (const n of r.noise) noise[n] = (noise[n] ?? 0) + 1;
  return {
    seed,
    personsWithSeveralChis: personsWithSeveralChis(set.records, personOf),
    records: set.records.length,
    people: set.people.length,
    loadRecordsPerSecond: Math.round(set.records.length / loadSeconds),
    figures,
    hub,
    agencies,
    noise: Object.fromEntries(Object.entries(noise).sort((x, y) => y[1] - x[1])),
    errors: analyseErrors(set, personOf, reviews),
  };
}

function personsWithSeveralChis(records: readonly BlindRecord[], personOf: ReadonlyMap<string, string>): BlindRun['personsWithSeveralChis'] {
  const chis = new Map<string, Set<string>>();
  const people = new Map<string, Set<string>>();
  for (const r of records) {
    const person = personOf.get(recordId(r)) ?? recordId(r);
    if (r.chi) chis.set(person, (chis.get(person) ?? new Set()).add(r.chi));
    people.set(person, (people.get(person) ?? new Set()).add(r.personId));
  }
  const several = [...chis].filter(([, c]) => c.size > 1).map(([p]) => p);
  return { persons: several.length, ofSeveralPeople: several.filter((p) => people.get(p)!.size > 1).length };
}
