/**
 * The synthetic Scottish multi-agency population (fixtures/generators) as a matching
 * benchmark. Records arrive one at a time, in shuffled order, as agency systems would
 * submit them: each is decided against the index of those before it, a `link` joins
 * the linked person, review and new start a person of their own (review counts as not
 * linked), and the record is then indexed — registration's loop (reclustered.ts
 * `registerIncrementally`), CHI check over the candidate Persons included. Quality is
 * pairwise over the resulting persons against the true ones.
 */
import { generatePopulation, type SyntheticAgencyRecord } from '../../fixtures/generators/scottish-population.js';
import { MatchIndex } from '../../services/mpi/domain/engine.js';
import { toFeatures } from '../../services/mpi/domain/features.js';
import type { MatchModel } from '../../services/mpi/domain/model.js';
import type { DemographicRecord } from '../../services/mpi/domain/record.js';
import type { LabelledRecord } from './febrl.js';
import { quality, round, timed, type Quality } from './metrics.js';
import { registerIncrementally } from './reclustered.js';

const featuresOfLabelled = (r: LabelledRecord) => toFeatures(r.record);

export interface SyntheticOptions {
  readonly seed: number;
  readonly people: number;
  /** Leave the CHI out of every record (the "without identifier" run). */
  readonly withoutChi?: boolean;
}

export function syntheticRecords(options: SyntheticOptions): LabelledRecord[] {
  const population = generatePopulation({ seed: options.seed, people: options.people });
  return labelledRecords(population.records, options.withoutChi);
}

/** Generated agency records as the engine's input, each with its true person. */
export function labelledRecords(records: readonly SyntheticAgencyRecord[], withoutChi = false): LabelledRecord[] {
  return records.map((r, i) => ({ record: toDemographicRecord(r, i, withoutChi), person: r.trueId }));
}

function toDemographicRecord(r: SyntheticAgencyRecord, i: number, withoutChi: boolean): DemographicRecord {
  return {
    id: `${r.agencyId}/${r.identifier.value}/${i}`,
    agency: r.agencyId,
    given: r.given,
    ...(r.chi && !withoutChi ? { chi: r.chi } : {}),
    ...(r.family ? { family: r.family } : {}),
    ...(r.birthDate ? { birthDate: r.birthDate } : {}),
    ...(r.gender ? { gender: r.gender } : {}),
    ...(r.postcode ? { postcode: r.postcode } : {}),
    ...(r.addressLine ? { addressLine: r.addressLine } : {}),
    ...(r.phone ? { phone: r.phone } : {}),
  };
}

export interface DedupFigures extends Quality {
  readonly reviewShareOfTruePairs: number;
  readonly recordsPerSecond: number;
  readonly comparisonsPerRecord: number;
  readonly pairsCompleteness: number;
  readonly outcomes: { readonly link: number; readonly review: number; readonly new: number };
  readonly records: number;
  readonly truePairs: number;
  readonly baseline: Quality & { readonly recordsPerSecond: number };
}

export function runDedup(records: readonly LabelledRecord[], model: MatchModel): DedupFigures {
  // The timed loop is registration's (reclustered.ts): features, candidates, decision with every CHI
  // the candidate Persons hold, indexing.
  const run = timed(() => registerIncrementally(records, model, featuresOfLabelled), 4);
  const { personOf, outcomes, reviewed } = run.result;

  // True pairs: every pair of records of one true person, in arrival order.
  const earlierOfPerson = new Map<string, string[]>();
  let truePairs = 0;
  let linkedTrue = 0;
  let inReview = 0;
  for (const { record, person } of records) {
    const earlier = earlierOfPerson.get(person) ?? [];
    for (const other of earlier) {
      truePairs++;
      if (personOf.get(other) === personOf.get(record.id)) linkedTrue++;
      else if (reviewed.get(record.id)?.has(personOf.get(other)!)) inReview++;
    }
    earlier.push(record.id);
    earlierOfPerson.set(person, earlier);
  }
  const predictedPairs = pairCount(personOf);

  // Pairs completeness: a true pair is findable when the later record meets the earlier one in blocking.
  const index = new MatchIndex(model);
  const truthOf = new Map(records.map((r) => [r.record.id, r.person]));
  const seenPairs = new Set<string>();
  for (const { record, person } of records) {
    const features = toFeatures(record);
    for (const c of index.candidates(features)) {
      if (truthOf.get(c.id) === person) seenPairs.add(`${c.id}|${record.id}`);
    }
    index.add(features);
  }

  return {
    ...quality(linkedTrue, predictedPairs, truePairs),
    reviewShareOfTruePairs: round(inReview / truePairs),
    recordsPerSecond: Math.round(records.length / (run.ms / 1000)),
    comparisonsPerRecord: round(run.result.comparisons / records.length, 2),
    pairsCompleteness: round(seenPairs.size / truePairs),
    outcomes,
    records: records.length,
    truePairs,
    baseline: exactKeyDedup(records),
  };
}

function pairCount(personOf: Map<string, string>): number {
  const sizes = new Map<string, number>();
  for (const p of personOf.values()) sizes.set(p, (sizes.get(p) ?? 0) + 1);
  let pairs = 0;
  for (const n of sizes.values()) pairs += (n * (n - 1)) / 2;
  return pairs;
}

/** Exact forename + surname + birth date (case and spaces aside) joins records into one person. */
function exactKeyDedup(records: readonly LabelledRecord[]): Quality & { recordsPerSecond: number } {
  const key = (r: DemographicRecord): string | undefined => {
    const given = r.given[0]?.trim().toLowerCase();
    const family = r.family?.trim().toLowerCase();
    return given && family && r.birthDate ? `${given}|${family}|${r.birthDate}` : undefined;
  };
  const run = timed(() => {
    const firstOfKey = new Map<string, string>();
    const personOf = new Map<string, string>();
    for (const { record } of records) {
      const k = key(record);
      const existing = k === undefined ? undefined : firstOfKey.get(k);
      if (existing) personOf.set(record.id, existing);
      else {
        personOf.set(record.id, record.id);
        if (k !== undefined) firstOfKey.set(k, record.id);
      }
    }
    return personOf;
  });
  const personOf = run.result;
  const earlierOfPerson = new Map<string, string[]>();
  let truePairs = 0;
  let linkedTrue = 0;
  for (const { record, person } of records) {
    const earlier = earlierOfPerson.get(person) ?? [];
    for (const other of earlier) {
      truePairs++;
      if (personOf.get(other) === personOf.get(record.id)) linkedTrue++;
    }
    earlier.push(record.id);
    earlierOfPerson.set(person, earlier);
  }
  return { ...quality(linkedTrue, pairCount(personOf), truePairs), recordsPerSecond: Math.round(records.length / (run.ms / 1000)) };
}
