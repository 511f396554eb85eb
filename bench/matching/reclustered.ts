/**
 * Deduplication figures for a set of labelled records, registered as the MPI does —
 * one at a time, each decided against those before it — and after the re-clustering
 * pass (services/mpi/domain/clustering.ts), which makes the Persons a function of the
 * records alone. Also: does arrival order change the Persons (two orders compared)?
 */
import { clusterRecords } from '../../services/mpi/domain/clustering.js';
import { MatchIndex, personChiOf, type PersonChi } from '../../services/mpi/domain/engine.js';
import { toFeatures, type MatchFeatures } from '../../services/mpi/domain/features.js';
import type { MatchModel } from '../../services/mpi/domain/model.js';
import { Random } from '../../fixtures/generators/random.js';
import type { LabelledRecord } from './febrl.js';
import { quality, round, timed, type Quality } from './metrics.js';

export interface ReviewFigures {
  /** Review questions raised (Tasks a reviewer would get). */
  readonly reviewTasks: number;
  /** Review Tasks per record. */
  readonly reviewShareOfRecords: number;
  /** Share of review Tasks whose two records are really one person (the band should be genuinely uncertain: 20-80 %). */
  readonly reviewTrueMatchShare: number;
}

export interface ClusteringFigures extends Quality, ReviewFigures {
  readonly truePairs: number;
  readonly linkedPairs: number;
  readonly recordsPerSecond: number;
}

/** Pairwise quality of a partition (record id → cluster) against the truth. */
export function partitionQuality(records: readonly LabelledRecord[], clusterOf: ReadonlyMap<string, string>): Quality & { truePairs: number; linkedPairs: number } {
  const byTruth = new Map<string, string[]>();
  const byCluster = new Map<string, string[]>();
  for (const { record, person } of records) {
    push(byTruth, person, record.id);
    push(byCluster, clusterOf.get(record.id) ?? record.id, record.id);
  }
  const truthOf = new Map(records.map((r) => [r.record.id, r.person] as const));
  let truePairs = 0;
  for (const ids of byTruth.values()) truePairs += (ids.length * (ids.length - 1)) / 2;
  let linkedPairs = 0;
  let correct = 0;
  for (const ids of byCluster.values()) {
    linkedPairs += (ids.length * (ids.length - 1)) / 2;
    const counts = new Map<string, number>();
    for (const id of ids) counts.set(truthOf.get(id)!, (counts.get(truthOf.get(id)!) ?? 0) + 1);
    for (const n of counts.values()) correct += (n * (n - 1)) / 2;
  }
  return { ...quality(correct, linkedPairs, truePairs), truePairs, linkedPairs };
}

function push(map: Map<string, string[]>, key: string, value: string): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}

function reviewFigures(records: number, questions: readonly { recordId: string; candidateId: string }[], truthOf: ReadonlyMap<string, string>): ReviewFigures {
  const trueOnes = questions.filter((q) => truthOf.get(q.recordId) === truthOf.get(q.candidateId)).length;
  return {
    reviewTasks: questions.length,
    reviewShareOfRecords: round(questions.length / records),
    reviewTrueMatchShare: questions.length === 0 ? 0 : round(trueOnes / questions.length),
  };
}

/** What one incremental registration pass left (`registerIncrementally`). */
export interface Registration {
  /** Record id → its Person (the id of the Person's first record). */
  readonly personOf: Map<string, string>;
  /** Review questions raised (Tasks a reviewer would get): a review's best candidate, a link's bridged possible duplicates. */
  readonly questions: { recordId: string; candidateId: string }[];
  /** Record id → the Persons offered for review (records decided `review` only). */
  readonly reviewed: Map<string, Set<string>>;
  readonly outcomes: { link: number; review: number; new: number };
  /** Candidate records compared. */
  readonly comparisons: number;
}

/**
 * The MPI's incremental registration of `items` in the given order, as registration does it: each
 * record's features worked out (`featuresOf`), decided against the index of those before it with
 * every CHI its candidate Persons hold (registration.ts `candidatePersonChis`), then indexed. The
 * one loop the benchmarks time and measure arrival-order results with.
 */
export function registerIncrementally<T>(items: readonly T[], model: MatchModel, featuresOf: (item: T) => MatchFeatures): Registration {
  const index = new MatchIndex(model);
  const personOf = new Map<string, string>();
  // Every CHI each Person's records hold, as registration reads them (registration.ts `candidatePersonChis`).
  const chisOf = new Map<string, PersonChi[]>();
  const options = { personOf: (id: string) => personOf.get(id), chisOf: (person: string) => chisOf.get(person) };
  const questions: { recordId: string; candidateId: string }[] = [];
  const reviewed = new Map<string, Set<string>>();
  const outcomes = { link: 0, review: 0, new: 0 };
  for (const item of items) {
    const f = featuresOf(item);
    const decision = index.match(f, options);
    outcomes[decision.outcome]++;
    if (decision.outcome === 'link') {
      personOf.set(f.id, personOf.get(decision.best!.id)!);
      // A bridged possible duplicate is a (merge) review Task too.
      for (const d of decision.possibleDuplicates ?? []) questions.push({ recordId: f.id, candidateId: d.id });
    } else personOf.set(f.id, f.id);
    const held = personChiOf(f);
    if (held) {
      const person = personOf.get(f.id)!;
      const list = chisOf.get(person);
      if (list) list.push(held);
      else chisOf.set(person, [held]);
    }
    if (decision.outcome === 'review') {
      questions.push({ recordId: f.id, candidateId: decision.reviewCandidates[0]!.id });
      reviewed.set(f.id, new Set(decision.reviewCandidates.map((c) => personOf.get(c.id)!)));
    }
    index.add(f);
  }
  return { personOf, questions, reviewed, outcomes, comparisons: index.comparisons };
}

const asIs = (f: MatchFeatures): MatchFeatures => f;

/** `registerIncrementally` over features already worked out. */
export function registerFeatures(features: readonly MatchFeatures[], model: MatchModel): Registration {
  return registerIncrementally(features, model, asIs);
}

export interface OrderFigures {
  /** Records whose Person (as a set of records) differs between the two arrival orders. */
  readonly incrementalRecordsInDifferentPersons: number;
  /** The same after the re-clustering pass (0: order-independent). */
  readonly reclusteredRecordsInDifferentPersons: number;
  readonly incrementalF1SecondOrder: number;
}

/** Records whose cluster (as a set of record ids) differs between two partitions. */
function recordsInDifferentClusters(a: ReadonlyMap<string, string>, b: ReadonlyMap<string, string>): number {
  const members = (m: ReadonlyMap<string, string>) => {
    const by = new Map<string, string[]>();
    for (const [id, c] of m) push(by, c, id);
    const signature = new Map<string, string>();
    for (const ids of by.values()) {
      const s = ids.sort().join(',');
      for (const id of ids) signature.set(id, s);
    }
    return signature;
  };
  const sa = members(a);
  const sb = members(b);
  let differ = 0;
  for (const [id, s] of sa) if (sb.get(id) !== s) differ++;
  return differ;
}

function clusterMap(clusters: readonly (readonly string[])[]): Map<string, string> {
  const m = new Map<string, string>();
  for (const c of clusters) for (const id of c) m.set(id, c[0]!);
  return m;
}

export interface DedupComparison {
  readonly incremental: ClusteringFigures;
  readonly reclustered: ClusteringFigures;
  readonly order: OrderFigures;
}

/**
 * Registers `records` in their order and in a shuffled one, re-clusters both, and reports
 * quality and review figures for the arrival-order result and the re-clustered one.
 */
export function compareIncrementalAndReclustered(records: readonly LabelledRecord[], model: MatchModel, shuffleSeed: number): DedupComparison {
  const features = records.map((r) => toFeatures(r.record));
  const truthOf = new Map(records.map((r) => [r.record.id, r.person] as const));

  const first = timed(() => registerFeatures(features, model), 2);
  const shuffled = new Random(shuffleSeed).shuffle([...features]);
  const second = registerFeatures(shuffled, model);

  const clustered = timed(() => clusterRecords({ records: features, model }), 2);
  const clusteredShuffled = clusterRecords({ records: shuffled, model });
  const clusters = clusterMap(clustered.result.clusters);

  const incrementalQuality = partitionQuality(records, first.result.personOf);
  return {
    incremental: {
      ...incrementalQuality,
      ...reviewFigures(records.length, first.result.questions, truthOf),
      recordsPerSecond: Math.round(records.length / (first.ms / 1000)),
    },
    reclustered: {
      ...partitionQuality(records, clusters),
      ...reviewFigures(records.length, clustered.result.reviews, truthOf),
      recordsPerSecond: Math.round(records.length / (clustered.ms / 1000)),
    },
    order: {
      incrementalRecordsInDifferentPersons: recordsInDifferentClusters(first.result.personOf, second.personOf),
      reclusteredRecordsInDifferentPersons: recordsInDifferentClusters(clusters, clusterMap(clusteredShuffled.clusters)),
      incrementalF1SecondOrder: partitionQuality(records, second.personOf).f1,
    },
  };
}
