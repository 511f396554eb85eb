/**
 * The held-out proxy (fixtures/heldout/multi-agency.ts) with its hard cases at or beyond the top of
 * what a partnership's records plausibly hold, matched in memory the way the hub ends up after a load:
 * the model estimated from the set's own records (unlabelled, `estimateMatchingModel`), registration one
 * record at a time (every Person's CHIs checked), then the re-clustering pass. Each seed is run twice —
 * with its own drawn rates and with the stress rates — so the difference is the rates' alone.
 *
 * The stress profile (`STRESS`) is set from what registers hold, not from what the matcher handles:
 * every drawn rate at the top of its range, and the hard negatives and date slips doubled beyond it —
 * twins (the proxy's 3.5 % per child is already about twice Scotland's multiple-birth rate: ~1.5 % of
 * maternities), same-name strangers (5 % of people; 30 % of them born the same day, against a few in ten
 * thousand for two strangers of one name), day/month swaps and year slips (3 % of records each).
 */
import { agencyPatientSystem } from '../../shared/fhir/systems.js';
import { toProxyPatient } from '../../fixtures/heldout/fhir.js';
import { generateProxyDataset, RATE_RANGES, type ProxyDataset, type ProxyOptions, type ProxyRates } from '../../fixtures/heldout/multi-agency.js';
import { parseRegistration } from '../../services/mpi/domain/from-patient.js';
import { clusterRecords } from '../../services/mpi/domain/clustering.js';
import { toFeatures } from '../../services/mpi/domain/features.js';
import { analyseErrors, type ErrorAnalysis } from './heldout-errors.js';
import { estimateForRecords } from './estimation.js';
import type { LabelledRecord } from './febrl.js';
import { round } from './metrics.js';
import { partitionQuality, registerFeatures } from './reclustered.js';

const top = Object.fromEntries(Object.entries(RATE_RANGES).map(([name, [, high]]) => [name, high])) as ProxyRates;

/** Every rate at the top of its range; twins, same-name strangers and date slips doubled beyond it. */
export const STRESS: Omit<ProxyOptions, 'seed'> = {
  rates: {
    ...top,
    namesake: 2 * RATE_RANGES.namesake[1],
    dayMonthSwap: 2 * RATE_RANGES.dayMonthSwap[1],
    yearSlip: 2 * RATE_RANGES.yearSlip[1],
    recentNameChange: 2 * RATE_RANGES.recentNameChange[1],
  },
  twinChance: 0.07,
  namesakeSameDay: 0.3,
};

export interface StressFigures {
  readonly profile: string;
  readonly seed: number;
  readonly records: number;
  readonly people: number;
  readonly f1: number;
  readonly precision: number;
  readonly recall: number;
  readonly reviewTasks: number;
  readonly reviewShareOfRecords: number;
  readonly reviewTrueMatchShare: number;
  readonly arrivalOrder: { readonly f1: number; readonly reviewShareOfRecords: number };
  readonly thresholds: { readonly upper: number; readonly lower: number };
  readonly errors: ErrorAnalysis;
}

const systemsByAgency = new Map<string, string>();

/** A proxy record as the hub reads it (its FHIR Patient through registration's own parser), under the id `<agency>.<local id>`. */
function labelled(dataset: ProxyDataset): LabelledRecord[] {
  return dataset.records.map((r) => {
    const { demographics } = parseRegistration(toProxyPatient(r), { agencyId: r.agencyId, system: agencyPatientSystem(r.agencyId), systemsByAgency });
    return { record: { ...demographics, id: `${r.agencyId}.${r.localId}` }, person: r.personId };
  });
}

/** One seed under a profile: `drawn` (the seed's own rates), `stress` (`STRESS`), or any other options under a name. */
export function runStressSeed(seed: number, profile: string, options: Omit<ProxyOptions, 'seed'> = profile === 'stress' ? STRESS : {}): StressFigures {
  const dataset = generateProxyDataset({ seed, ...options });
  const records = labelled(dataset);
  const { model } = estimateForRecords(records, `held-out proxy seed ${seed} (${profile})`);
  const features = records.map((r) => toFeatures(r.record));
  const truthOf = new Map(records.map((r) => [r.record.id, r.person] as const));
  const arrival = registerFeatures(features, model);
  const clustering = clusterRecords({ records: features, model });
  const clusterOf = new Map<string, string>();
  for (const c of clustering.clusters) for (const id of c) clusterOf.set(id, c[0]!);
  const q = partitionQuality(records, clusterOf);
  const reviews = clustering.reviews;
  const trueReviews = reviews.filter((r) => truthOf.get(r.recordId) === truthOf.get(r.candidateId)).length;
  return {
    profile,
    seed,
    records: records.length,
    people: dataset.people.length,
    f1: q.f1,
    precision: q.precision,
    recall: q.recall,
    reviewTasks: reviews.length,
    reviewShareOfRecords: round(reviews.length / records.length),
    reviewTrueMatchShare: reviews.length === 0 ? 0 : round(trueReviews / reviews.length),
    arrivalOrder: { f1: partitionQuality(records, arrival.personOf).f1, reviewShareOfRecords: round(arrival.questions.length / records.length) },
    thresholds: model.thresholds,
    errors: analyseErrors(
      dataset,
      clusterOf,
      reviews.map((r, i) => ({ task: String(i), recordId: r.recordId, candidateId: r.candidateId, evidence: [] })),
    ),
  };
}
