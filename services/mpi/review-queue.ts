/** The open match-review queue as the matching report counts it. */
import type { ResourceStore } from '../../shared/store/resource-store.js';
import { MAX_COUNT } from '../../shared/store/search-plan.js';
import { MATCH_REVIEW_CODE } from './domain/review-task.js';

export interface OpenReviewQueue {
  readonly count: number;
  /** `authoredOn` of the longest-waiting review, when any is open. */
  readonly oldest?: string;
}

/**
 * How many reviews are open and when the oldest was asked for. Reads every
 * open review Task, page by page: the queue is a small share of the index
 * (under 1 % of records in the benchmarks), and an oldest age taken from one
 * page would understate the backlog exactly when it matters.
 */
export async function openReviewQueue(tasks: ResourceStore): Promise<OpenReviewQueue> {
  let count = 0;
  let oldest: string | undefined;
  for (let offset = 0; ; offset += MAX_COUNT) {
    const query = { code: MATCH_REVIEW_CODE, status: 'requested', _count: String(MAX_COUNT), _offset: String(offset) };
    const page = await tasks.search('Task', query, { total: false });
    count += page.resources.length;
    // ISO instants written by the MPI compare correctly as strings.
    for (const task of page.resources) if (task.authoredOn && (oldest === undefined || task.authoredOn < oldest)) oldest = task.authoredOn;
    if (page.resources.length < MAX_COUNT) return oldest === undefined ? { count } : { count, oldest };
  }
}
