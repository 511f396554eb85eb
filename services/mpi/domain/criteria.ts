/**
 * Which maturity criteria an MPI exchange demonstrates (DESIGN.md §2):
 * MI-L4 agency systems submit demographics / receive cross-references through
 * the API; MI-L3 automatic matching (and manual matching, for reviews);
 * MI-L2 the declared model at work — CHI seeding, or a CHI-certain match.
 */
import type { RegistrationPlan } from './registration-plan.js';

export function registrationCriteria(results: readonly { plan: RegistrationPlan; seededChi?: string }[]): string[] {
  const criteria = new Set(['MI-L4']);
  for (const r of results) {
    if (r.plan.outcome === 'linked' && (r.plan.how === 'auto' || r.plan.how === 'chi')) criteria.add('MI-L3');
    if (r.plan.outcome === 'review') criteria.add('MI-L3');
    if (r.seededChi || r.plan.how === 'chi') criteria.add('MI-L2');
  }
  return [...criteria].sort();
}

/** A reviewer's decision or a correction is manual matching. */
export const MANUAL_MATCHING_CRITERIA = ['MI-L3'] as const;
