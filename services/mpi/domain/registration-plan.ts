/**
 * What registering (or re-submitting) one agency record does to the index,
 * decided from the engine's decision and what reviewers decided before. Pure.
 *
 * Rules (DESIGN.md §7, peer-MPI pitfalls):
 * - a record belongs to exactly one Person;
 * - a record a reviewer linked stays where the reviewer put it (re-matching never
 *   overrides a manual decision), and a pair a reviewer kept apart is never
 *   linked automatically;
 * - a grey-zone pair becomes one review Task (never the same pair twice);
 * - a record that links to one Person and is as close to a record of another
 *   (the engine's possible duplicates) raises a merge review for that pair, by
 *   the same rules: never a pair already decided or already waiting;
 * - while under review the record is a Person of its own, so it is indexed and
 *   answerable at once.
 */
import type { Candidate, Decision } from './engine.js';
import type { MatchFeatures } from './features.js';
import { pairKey, type Assurance, type LinkHow, type ManualDecision, type PersonLink } from './links.js';

export type RegistrationOutcome = 'linked' | 'review' | 'new';

export interface PlanInput {
  readonly recordId: string;
  /** The record's link before this submission (re-submission), if any. */
  readonly currentLink?: PersonLink;
  /** Other records currently in the record's Person (re-submission). */
  readonly currentPersonSize: number;
  readonly decision: Decision;
  /** Links of candidate records (record id → link). */
  readonly linkOf: (recordId: string) => PersonLink | undefined;
  /** Manual decisions about (record, candidate) pairs, by `pairKey`. */
  readonly manualDecisions: ReadonlyMap<string, ManualDecision>;
  /** Open review Tasks by `pairKey`. */
  readonly openReviews: ReadonlyMap<string, string>;
  /** Makes a new Person id. */
  readonly newPersonId: () => string;
}

/** A record of another Person the linked record is as close to: that Person may be the same individual. */
export interface PossibleDuplicate {
  readonly candidate: Candidate;
  readonly candidatePersonId: string;
  /** A new review Task must be opened for (record, candidate); false while one is already waiting. */
  readonly openReview: boolean;
}

export interface RegistrationPlan {
  readonly outcome: RegistrationOutcome;
  readonly personId: string;
  readonly assurance: Assurance;
  readonly how: LinkHow;
  /** The matched (linked) or questioned (review) candidate. */
  readonly candidate?: Candidate;
  /** Set when a new review Task must be opened for (record, candidate). */
  readonly openReview?: { readonly candidate: Candidate; readonly candidatePersonId: string };
  /** The record changes Person (or gets its first one). */
  readonly moves: boolean;
  /** The record was linked by a reviewer and stays put whatever the engine says. */
  readonly keptManual: boolean;
  /** With an automatic link: other Persons that may be the same individual (each a merge question). */
  readonly possibleDuplicates?: readonly PossibleDuplicate[];
}

/**
 * Candidate records to compare, without every record of a Person the reviewer
 * already said this record is not: "not the same person as C" holds for C's
 * whole Person, so a later record of that Person neither links nor re-asks.
 */
export function outsideRejectedPersons<T extends { readonly id: string }>(
  recordId: string,
  candidates: readonly T[],
  manual: ReadonlyMap<string, ManualDecision>,
  linkOf: (recordId: string) => PersonLink | undefined,
): T[] {
  // Nearly always none (a first load has no reviewer decisions): no pair keys worked out then.
  if (manual.size === 0) return [...candidates];
  const rejected = new Set<string>();
  for (const c of candidates) {
    if (manual.get(pairKey(recordId, c.id))?.decision !== 'not-link') continue;
    rejected.add(linkOf(c.id)?.personId ?? c.id);
  }
  if (rejected.size === 0) return [...candidates];
  return candidates.filter((c) => !rejected.has(linkOf(c.id)?.personId ?? c.id));
}

/** Candidates a reviewer said are someone else are not candidates at all. */
export function withoutRejected(recordId: string, candidates: readonly Candidate[], manual: ReadonlyMap<string, ManualDecision>): Candidate[] {
  if (manual.size === 0) return [...candidates];
  return candidates.filter((c) => manual.get(pairKey(recordId, c.id))?.decision !== 'not-link');
}

export function planRegistration(input: PlanInput): RegistrationPlan {
  const { recordId, currentLink, decision } = input;

  if (currentLink?.how === 'manual') {
    return { outcome: 'linked', personId: currentLink.personId, assurance: currentLink.assurance, how: 'manual', moves: false, keptManual: true };
  }

  const candidates = [decision.best, ...decision.reviewCandidates].filter((c): c is Candidate => c !== undefined);
  const rejected = (c: Candidate) => input.manualDecisions.get(pairKey(recordId, c.id))?.decision === 'not-link';

  // A reviewer already said this pair is one person (e.g. an earlier version of the record).
  const confirmed = candidates.find((c) => input.manualDecisions.get(pairKey(recordId, c.id))?.decision === 'link');
  if (confirmed) {
    const link = input.linkOf(confirmed.id);
    if (link) return linkTo(input, link.personId, 'level2', 'manual', confirmed);
  }

  if (decision.outcome === 'link' && decision.best && !rejected(decision.best)) {
    const link = input.linkOf(decision.best.id);
    if (link) {
      // The candidate's rule as decide() names it: no explanation built per link.
      const byChi = decision.best.rule === 'same-chi';
      const plan = linkTo(input, link.personId, byChi ? 'level4' : 'level3', byChi ? 'chi' : 'auto', decision.best);
      const duplicates = possibleDuplicates(input, link.personId);
      return duplicates.length > 0 ? { ...plan, possibleDuplicates: duplicates } : plan;
    }
  }

  const questioned = decision.outcome !== 'new' ? candidates.find((c) => !rejected(c) && c.explanation.outcome !== 'new') : undefined;
  const ownPerson = keepOrNewOwnPerson(input);
  if (questioned) {
    const candidatePersonId = input.linkOf(questioned.id)?.personId;
    const alreadyAsked = input.openReviews.has(pairKey(recordId, questioned.id));
    return {
      ...ownPerson,
      outcome: 'review',
      candidate: questioned,
      ...(candidatePersonId && !alreadyAsked && candidatePersonId !== ownPerson.personId
        ? { openReview: { candidate: questioned, candidatePersonId } }
        : {}),
    };
  }
  return { ...ownPerson, outcome: 'new' };
}

function linkTo(input: PlanInput, personId: string, assurance: Assurance, how: LinkHow, candidate: Candidate): RegistrationPlan {
  return {
    outcome: 'linked',
    personId,
    assurance,
    how,
    candidate,
    moves: input.currentLink?.personId !== personId || input.currentLink.assurance !== assurance,
    keptManual: false,
  };
}

/**
 * The engine's possible duplicates as merge questions: each candidate still in
 * another Person than the one the record links to, unless a reviewer already
 * decided the pair (kept apart, or linked).
 */
function possibleDuplicates(input: PlanInput, personId: string): PossibleDuplicate[] {
  return (input.decision.possibleDuplicates ?? []).flatMap((candidate) => {
    const key = pairKey(input.recordId, candidate.id);
    const candidatePersonId = input.linkOf(candidate.id)?.personId;
    if (!candidatePersonId || candidatePersonId === personId || input.manualDecisions.has(key)) return [];
    return [{ candidate, candidatePersonId, openReview: !input.openReviews.has(key) }];
  });
}

/**
 * A record that no longer matches anyone keeps its Person only if it is alone in
 * it; if it was auto-linked with others, it leaves for a Person of its own.
 */
function keepOrNewOwnPerson(input: PlanInput): Pick<RegistrationPlan, 'personId' | 'assurance' | 'how' | 'moves' | 'keptManual'> {
  const current = input.currentLink;
  if (current && input.currentPersonSize <= 1) {
    return { personId: current.personId, assurance: 'level1', how: 'new', moves: current.assurance !== 'level1', keptManual: false };
  }
  return { personId: input.newPersonId(), assurance: 'level1', how: 'new', moves: true, keptManual: false };
}

/**
 * An unchanged re-submission: the record stays where it is, and the answer reports its
 * standing link (linked to a Person with others, or a Person of its own).
 */
export function planUnchanged(link: PersonLink): RegistrationPlan {
  return {
    outcome: link.how === 'new' ? 'new' : 'linked',
    personId: link.personId,
    assurance: link.assurance,
    how: link.how,
    moves: false,
    keptManual: link.how === 'manual',
  };
}

/**
 * How a record is linked once another record links to it (joins its Person through it). A record
 * that matched nobody was linked `new` (level 1: alone); a record linked probabilistically, `auto`
 * (level 3). Joined, it is linked as the re-clustering pass would link it (clustering.ts
 * `automaticLink`): `chi` (level 4) when the joining record has its CHI, else — if it was alone —
 * `auto` (level 3). Undefined when its link stays as it is: already `chi`, a reviewer's link
 * (`manual`), `auto` joined by a record without its CHI, or in another Person than the one joined.
 */
export function relabelJoined(
  current: PersonLink,
  joinedPersonId: string,
  features: MatchFeatures | undefined,
  joining: MatchFeatures,
): Pick<PersonLink, 'assurance' | 'how'> | undefined {
  if (current.personId !== joinedPersonId || (current.how !== 'new' && current.how !== 'auto')) return undefined;
  if (features?.chi !== undefined && features.chi === joining.chi) return { assurance: 'level4', how: 'chi' };
  return current.how === 'new' ? { assurance: 'level3', how: 'auto' } : undefined;
}
