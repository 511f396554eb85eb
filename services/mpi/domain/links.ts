/**
 * How agency records belong to index Persons. A record belongs to exactly one
 * Person; the link says how sure the partnership is and how it was made.
 *
 * Assurance (FHIR Person.link.assurance):
 *   level4  CHI-verified: the same valid CHI on both records (a certain match)
 *   level3  automatic probabilistic link at or above the upper threshold
 *   level2  linked by a reviewer (manual matching)
 *   level1  the record alone: a new Person, nothing corroborates it yet
 */
export type Assurance = 'level1' | 'level2' | 'level3' | 'level4';

/** How a link was made: `new` person, `auto` probabilistic, `chi` certain by CHI, `manual` by a reviewer. */
export type LinkHow = 'new' | 'auto' | 'chi' | 'manual';

export interface PersonLink {
  readonly personId: string;
  readonly assurance: Assurance;
  readonly how: LinkHow;
}

/** A reviewer's decision about a pair of records; automatic matching never overrides it. */
export interface ManualDecision {
  readonly decision: 'link' | 'not-link';
  /** `PractitionerRole/<id>` or the client id of the reviewer. */
  readonly by: string;
  readonly at: string;
  readonly taskId?: string;
  readonly note?: string;
}

/** Order-independent key of a pair of record ids. */
export function pairKey(a: string, b: string): string {
  return a < b ? `${a}|${b}` : `${b}|${a}`;
}

