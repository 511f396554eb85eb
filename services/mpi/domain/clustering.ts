/**
 * Re-clustering: the index's Persons worked out from the records themselves, whatever
 * order they arrived in. Pure.
 *
 * Registration decides each record against the records already indexed, greedily: a
 * record that arrives before the one that would have bridged it to its Person starts a
 * Person of its own, and the same records in another order can end in other Persons.
 * This pass makes the result a function of the set of records (and reviewers'
 * decisions) alone:
 *
 * 1. candidate pairs: every pair sharing a blocking key (blocks over `maxBlockSize`
 *    skipped, sized as the whole set makes them), each compared once, the lower id first;
 * 2. link edges: pairs at or above the link threshold (or with the same CHI), and pairs a
 *    reviewer linked; taken strongest first — a reviewer's, then the same CHI, then by
 *    score, ties by ids — so the order is fixed by the records, not their arrival;
 * 3. each edge joins its two clusters unless the join would put together two records
 *    that must stay apart: a pair a reviewer kept apart, records a reviewer placed in
 *    different Persons, or a pair whose own comparison contradicts it (the twin rule, a
 *    same-CHI pair differing on two of forename, sex and birth date, two different CHIs
 *    whatever the score, or a non-match that differs on forename, sex, birth date or CHI)
 *    — so a chain of links never joins twins, nor makes one Person of two CHIs;
 * 4. review questions: one per pair of clusters left apart that a pair between them
 *    reaches the review band (or the link band, blocked by a contradiction), about the
 *    best such pair, unless a reviewer already decided it.
 *
 * Running it twice on the same records gives the same clusters (it reads nothing but
 * the records and the decisions): the pass converges in one step.
 */
import { fieldIndex } from './comparators.js';
import { MatchIndex, verdict, type PairVerdict } from './engine.js';
import type { MatchFeatures } from './features.js';
import { pairKey, type Assurance, type LinkHow, type ManualDecision, type PersonLink } from './links.js';
import type { MatchModel } from './model.js';

export interface ClusteringInput {
  readonly records: readonly MatchFeatures[];
  readonly model: MatchModel;
  /** As registration's blocking (default 500). */
  readonly maxBlockSize?: number;
  /** Reviewers' decisions about record pairs, by `pairKey`. */
  readonly decisions?: ReadonlyMap<string, Pick<ManualDecision, 'decision'>>;
  /**
   * Records a reviewer placed (linked, merged or unlinked by hand: link `how` `manual`) →
   * the Person they placed them in. They stay together, and apart from records a reviewer
   * placed in another Person.
   */
  readonly placed?: ReadonlyMap<string, string>;
}

export interface ReviewQuestion {
  /** The record asked about: from the smaller of the two clusters. */
  readonly recordId: string;
  /** The record of the other cluster it resembles most. */
  readonly candidateId: string;
  readonly score: number;
}

export interface Clustering {
  /** Record ids per cluster, each sorted; clusters ordered by their first id. */
  readonly clusters: readonly (readonly string[])[];
  readonly reviews: readonly ReviewQuestion[];
  /** Candidate pairs compared. */
  readonly compared: number;
}

interface Pair {
  readonly a: string;
  readonly b: string;
  /** Score, outcome and rule only: the pass compares every candidate pair and keeps them all, so no explanations. */
  readonly comparison: PairVerdict;
  readonly manual?: ManualDecision['decision'];
}

/** Fields that tell people apart (as `PairVerdict.differentFields` bits). */
const IDENTIFYING_FIELDS = (['given', 'sex', 'birthDate', 'chi'] as const).reduce((bits, field) => bits | (1 << fieldIndex(field)), 0);

/**
 * A pair that must not end in one Person through other records' links: two different CHIs (never
 * a link: engine.ts `different-chi`) whatever the score, a rule, or a non-match differing on an
 * identifying field.
 */
function contradicts(c: PairVerdict): boolean {
  if (c.outcome === 'link') return false;
  if (c.rule || c.differentChis) return true;
  return c.outcome === 'new' && (c.differentFields & IDENTIFYING_FIELDS) !== 0;
}

export function clusterRecords(input: ClusteringInput): Clustering {
  const { model } = input;
  const records = [...input.records].sort((x, y) => (x.id < y.id ? -1 : x.id > y.id ? 1 : 0));
  const index = new MatchIndex(model, { maxBlockSize: input.maxBlockSize });
  for (const r of records) index.add(r);

  // Most pairs have no reviewer decision: only a pair of two records that each have one is looked up.
  const decided = new Set([...(input.decisions?.keys() ?? [])].flatMap((key) => key.split('|')));
  const decisionOf = (a: string, b: string) => (decided.has(a) && decided.has(b) ? input.decisions?.get(pairKey(a, b))?.decision : undefined);
  // Pairs are keyed by their records' positions (a number: no key string built per pair).
  const position = new Map(records.map((r, i) => [r.id, i] as const));
  const pairAt = (i: number, j: number) => (i < j ? i * records.length + j : j * records.length + i);
  const pairs: Pair[] = [];
  const compared = new Map<number, PairVerdict>();
  records.forEach((r, i) => {
    for (const c of index.candidates(r)) {
      if (c.id <= r.id) continue;
      const comparison = verdict(r, c, model);
      compared.set(pairAt(i, position.get(c.id)!), comparison);
      const manual = decisionOf(r.id, c.id);
      pairs.push({ a: r.id, b: c.id, comparison, ...(manual ? { manual } : {}) });
    }
  });
  // Reviewer-linked pairs that blocking did not bring together are edges too.
  for (const [key, d] of input.decisions ?? []) {
    if (d.decision !== 'link') continue;
    const [a, b] = key.split('|') as [string, string];
    const i = position.get(a);
    const j = position.get(b);
    if (i !== undefined && j !== undefined && !compared.has(pairAt(i, j))) pairs.push({ a, b, comparison: verdict(records[i]!, records[j]!, model), manual: 'link' });
  }

  // Union-find over record positions, each root keeping its members.
  const parent = records.map((_, i) => i);
  const members: number[][] = records.map((_, i) => [i]);
  const find = (i: number): number => {
    while (parent[i] !== i) {
      parent[i] = parent[parent[i]!]!;
      i = parent[i]!;
    }
    return i;
  };
  const placed = input.placed ?? new Map<string, string>();
  const apart = (i: number, j: number): boolean => {
    const x = records[i]!;
    const y = records[j]!;
    const manual = decisionOf(x.id, y.id);
    if (manual) return manual === 'not-link';
    const px = placed.get(x.id);
    const py = placed.get(y.id);
    if (px !== undefined && py !== undefined) return px !== py;
    const key = pairAt(i, j);
    let c = compared.get(key);
    if (!c) compared.set(key, (c = x.id < y.id ? verdict(x, y, model) : verdict(y, x, model)));
    return contradicts(c);
  };
  const canJoin = (ra: number, rb: number): boolean => {
    for (const i of members[ra]!) for (const j of members[rb]!) if (apart(i, j)) return false;
    return true;
  };
  const join = (ra: number, rb: number) => {
    const [big, small] = members[ra]!.length >= members[rb]!.length ? [ra, rb] : [rb, ra];
    parent[small] = big;
    members[big]!.push(...members[small]!);
    members[small] = [];
  };

  // Records a reviewer placed in one Person belong together, whatever their scores.
  const firstPlaced = new Map<string, number>();
  for (const [id, person] of [...placed].sort(([x], [y]) => (x < y ? -1 : 1))) {
    const i = position.get(id);
    if (i === undefined) continue;
    const first = firstPlaced.get(person);
    if (first === undefined) firstPlaced.set(person, i);
    else if (find(first) !== find(i)) join(find(first), find(i));
  }

  const rank = (p: Pair) => (p.manual === 'link' ? 0 : p.comparison.rule === 'same-chi' ? 1 : 2);
  const edges = pairs
    .filter((p) => p.manual === 'link' || (p.manual === undefined && p.comparison.outcome === 'link'))
    .sort((x, y) => rank(x) - rank(y) || y.comparison.score - x.comparison.score || (x.a < y.a ? -1 : x.a > y.a ? 1 : x.b < y.b ? -1 : x.b > y.b ? 1 : 0));
  for (const e of edges) {
    const ra = find(position.get(e.a)!);
    const rb = find(position.get(e.b)!);
    if (ra === rb) continue;
    // A reviewer's link is joined unless a reviewer also kept someone in the two apart.
    if (e.manual === 'link' ? !reviewerKeptApart(members[ra]!, members[rb]!) : canJoin(ra, rb)) join(ra, rb);
  }

  function reviewerKeptApart(xs: readonly number[], ys: readonly number[]): boolean {
    for (const i of xs) {
      for (const j of ys) {
        const x = records[i]!;
        const y = records[j]!;
        if (decisionOf(x.id, y.id) === 'not-link') return true;
        const px = placed.get(x.id);
        const py = placed.get(y.id);
        if (px !== undefined && py !== undefined && px !== py) return true;
      }
    }
    return false;
  }

  // One question per pair of clusters left apart, about their closest pair.
  const best = new Map<string, Pair>();
  for (const p of pairs) {
    if (p.manual || p.comparison.outcome === 'new') continue;
    const ra = find(position.get(p.a)!);
    const rb = find(position.get(p.b)!);
    if (ra === rb) continue;
    const key = ra < rb ? `${ra}|${rb}` : `${rb}|${ra}`;
    const seen = best.get(key);
    if (!seen || p.comparison.score > seen.comparison.score || (p.comparison.score === seen.comparison.score && `${p.a}|${p.b}` < `${seen.a}|${seen.b}`)) best.set(key, p);
  }
  const reviews = [...best.values()]
    .map((p): ReviewQuestion => {
      const sa = members[find(position.get(p.a)!)]!;
      const sb = members[find(position.get(p.b)!)]!;
      // Ask about the record of the smaller cluster (the one a reviewer's `link` would move); ties: the later id.
      const aSmaller = sa.length < sb.length || (sa.length === sb.length && p.a > p.b);
      return aSmaller ? { recordId: p.a, candidateId: p.b, score: p.comparison.score } : { recordId: p.b, candidateId: p.a, score: p.comparison.score };
    })
    .sort((x, y) => (x.recordId < y.recordId ? -1 : x.recordId > y.recordId ? 1 : x.candidateId < y.candidateId ? -1 : 1));

  const clusters = members
    .filter((m) => m.length > 0)
    .map((m) => m.map((i) => records[i]!.id).sort())
    .sort((x, y) => (x[0]! < y[0]! ? -1 : 1));
  return { clusters, reviews, compared: pairs.length };
}

/**
 * Person ids for the clusters, keeping as many records where they are as it can: each
 * cluster (largest first) takes the Person most of its records are in now, if no larger
 * cluster took it; a cluster holding records a reviewer placed takes their Person.
 * Otherwise a new Person. `currentPersonOf` and `placed` are today's links.
 */
export function personsForClusters(
  clusters: readonly (readonly string[])[],
  currentPersonOf: (recordId: string) => string | undefined,
  placed: ReadonlyMap<string, string>,
  newPersonId: () => string,
): string[] {
  const order = clusters.map((_, i) => i).sort((x, y) => clusters[y]!.length - clusters[x]!.length || x - y);
  const taken = new Set<string>();
  const out: string[] = new Array<string>(clusters.length);
  // Reviewers' Persons first: they are not for another cluster to take.
  for (const i of order) {
    const person = clusters[i]!.map((id) => placed.get(id)).find((p) => p !== undefined);
    if (person !== undefined && !taken.has(person)) {
      taken.add(person);
      out[i] = person;
    }
  }
  for (const i of order) {
    if (out[i] !== undefined) continue;
    const votes = new Map<string, number>();
    for (const id of clusters[i]!) {
      const p = currentPersonOf(id);
      if (p !== undefined) votes.set(p, (votes.get(p) ?? 0) + 1);
    }
    const choice = [...votes]
      .filter(([p]) => !taken.has(p))
      .sort(([p, n], [q, m]) => m - n || (p < q ? -1 : 1))[0]?.[0];
    const person = choice ?? newPersonId();
    taken.add(person);
    out[i] = person;
  }
  return out;
}

/** A record's new place after re-clustering. */
export interface ReclusterMove {
  readonly recordId: string;
  readonly personId: string;
  readonly assurance: Assurance;
  readonly how: LinkHow;
  /** Its link when the pass read it (the move happens only if it is still that). */
  readonly expected: PersonLink;
}

/** A review question the pass opens: about `recordId` against `candidateId`. */
export interface ReclusterQuestion {
  readonly recordId: string;
  readonly candidateId: string;
  readonly recordPersonId: string;
  readonly candidatePersonId: string;
  /** The record's Person has other records too: the question is whether the two Persons are one (a merge). */
  readonly merge: boolean;
}

export interface ReclusterPlan {
  readonly moves: readonly ReclusterMove[];
  readonly questions: readonly ReclusterQuestion[];
  /** Open review Tasks the new Persons make stale: both records now in one Person, or no longer a question. */
  readonly staleTasks: readonly string[];
  readonly persons: number;
  readonly compared: number;
}

export interface ReclusterInput {
  readonly records: readonly MatchFeatures[];
  readonly links: ReadonlyMap<string, PersonLink>;
  /** Reviewers' decisions by `pairKey`: record pairs, and Person pairs (`per-…`) for merge questions. */
  readonly decisions: ReadonlyMap<string, Pick<ManualDecision, 'decision'>>;
  /** Open review Tasks: id and the two records they ask about. */
  readonly openTasks: readonly { readonly taskId: string; readonly recordId: string; readonly candidateId: string }[];
  readonly model: MatchModel;
  readonly maxBlockSize?: number;
  readonly newPersonId: () => string;
}

/**
 * What the re-clustering pass changes in the index: the records to move (never one a
 * reviewer placed), the review questions to open, and the open ones to withdraw. The
 * Persons it leads to depend only on the records and the reviewers' decisions; which
 * Person ids they keep depends on today's links (the ids most records already have).
 */
export function planRecluster(input: ReclusterInput): ReclusterPlan {
  const placed = new Map<string, string>();
  const membersOf = new Map<string, string[]>();
  for (const [id, link] of input.links) {
    if (link.how === 'manual') placed.set(id, link.personId);
    const list = membersOf.get(link.personId);
    if (list) list.push(id);
    else membersOf.set(link.personId, [id]);
  }
  // "These two Persons are not one individual" (a merge question answered no) holds for their records.
  const decisions = new Map(input.decisions);
  for (const [key, d] of input.decisions) {
    const [a, b] = key.split('|') as [string, string];
    if (d.decision !== 'not-link' || !a.startsWith('per-') || !b.startsWith('per-')) continue;
    for (const x of membersOf.get(a) ?? []) for (const y of membersOf.get(b) ?? []) decisions.set(pairKey(x, y), { decision: 'not-link' });
  }
  const clustering = clusterRecords({ records: input.records, model: input.model, maxBlockSize: input.maxBlockSize, decisions, placed });
  const persons = personsForClusters(clustering.clusters, (id) => input.links.get(id)?.personId, placed, input.newPersonId);
  const clusterOf = new Map<string, number>();
  clustering.clusters.forEach((c, i) => c.forEach((id) => clusterOf.set(id, i)));
  const byId = new Map(input.records.map((r) => [r.id, r] as const));

  const moves: ReclusterMove[] = [];
  clustering.clusters.forEach((cluster, i) => {
    const personId = persons[i]!;
    for (const recordId of cluster) {
      const expected = input.links.get(recordId);
      if (!expected || expected.how === 'manual') continue;
      const { assurance, how } = automaticLink(recordId, cluster, byId);
      if (expected.personId === personId && expected.assurance === assurance && expected.how === how) continue;
      moves.push({ recordId, personId, assurance, how, expected });
    }
  });

  const pairOfClusters = (a: string, b: string) => {
    const x = clusterOf.get(a);
    const y = clusterOf.get(b);
    return x === undefined || y === undefined ? undefined : x < y ? `${x}|${y}` : `${y}|${x}`;
  };
  const asked = new Set<string>();
  const staleTasks: string[] = [];
  const wanted = new Set(clustering.reviews.map((q) => pairOfClusters(q.recordId, q.candidateId)));
  for (const task of [...input.openTasks].sort((x, y) => (x.taskId < y.taskId ? -1 : 1))) {
    const key = pairOfClusters(task.recordId, task.candidateId);
    // Kept: an open question about the same two Persons the pass would ask about (once).
    if (key !== undefined && wanted.has(key) && !asked.has(key)) asked.add(key);
    else staleTasks.push(task.taskId);
  }
  const questions = clustering.reviews.flatMap((q): ReclusterQuestion[] => {
    const key = pairOfClusters(q.recordId, q.candidateId)!;
    if (asked.has(key)) return [];
    const recordCluster = clusterOf.get(q.recordId)!;
    const candidateCluster = clusterOf.get(q.candidateId)!;
    return [
      {
        recordId: q.recordId,
        candidateId: q.candidateId,
        recordPersonId: persons[recordCluster]!,
        candidatePersonId: persons[candidateCluster]!,
        merge: clustering.clusters[recordCluster]!.length > 1,
      },
    ];
  });
  return { moves, questions, staleTasks, persons: clustering.clusters.length, compared: clustering.compared };
}

/** How an automatically clustered record is linked: by CHI when another record of its cluster has the same, else probabilistically; alone, level 1. */
function automaticLink(recordId: string, cluster: readonly string[], byId: ReadonlyMap<string, MatchFeatures>): { assurance: Assurance; how: LinkHow } {
  if (cluster.length === 1) return { assurance: 'level1', how: 'new' };
  const chi = byId.get(recordId)?.chi;
  const sameChi = chi !== undefined && cluster.some((id) => id !== recordId && byId.get(id)?.chi === chi);
  return sameChi ? { assurance: 'level4', how: 'chi' } : { assurance: 'level3', how: 'auto' };
}
