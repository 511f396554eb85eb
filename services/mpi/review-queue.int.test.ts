import type { Task } from 'fhir/r4.js';
import type { Redis } from 'ioredis';
import { KeySpace } from '../../shared/redis/connection.js';
import { ResourceStore } from '../../shared/store/resource-store.js';
import { MAX_COUNT } from '../../shared/store/search-plan.js';
import { deletePrefix, testRedis, uniquePrefix } from '../../test/redis.js';
import { buildReviewTask } from './domain/review-task.js';
import { MPI_RESOURCE_TYPES } from './resource-types.js';
import { openReviewQueue } from './review-queue.js';

let redis: Redis;
let prefix: string;
let tasks: ResourceStore;

beforeEach(() => {
  redis = testRedis();
  prefix = uniquePrefix('review-queue');
  tasks = new ResourceStore(redis, new KeySpace(prefix), MPI_RESOURCE_TYPES, { family: 'mpi' });
});

afterEach(async () => {
  await deletePrefix(redis, prefix);
  redis.disconnect();
});

function reviewTask(id: string, authoredOn: string): Task {
  const task = buildReviewTask({
    recordId: `agency-a.${id}`,
    candidateId: `agency-b.${id}`,
    candidatePersonId: `per-${id}`,
    score: 4.2,
    probability: 0.7,
    fields: [],
    requestedBy: 'mpi',
    authoredOn,
  });
  return { ...task, id };
}

describe('openReviewQueue', () => {
  it('counts every open review and finds the oldest even beyond the first page of Tasks', async () => {
    const open = MAX_COUNT + 20;
    for (let i = 0; i < open - 1; i++) await tasks.upsert(reviewTask(`a-${String(i).padStart(5, '0')}`, '2026-11-20T10:00:00.000Z'));
    // Sorts last by id, so it is on the second page.
    await tasks.upsert(reviewTask('z-oldest', '2026-10-01T08:30:00.000Z'));
    await tasks.upsert({ ...reviewTask('a-resolved', '2026-01-01T00:00:00.000Z'), status: 'completed' });

    expect(await openReviewQueue(tasks)).toEqual({ count: open, oldest: '2026-10-01T08:30:00.000Z' });
  });

  it('reports an empty queue without an oldest date', async () => {
    expect(await openReviewQueue(tasks)).toEqual({ count: 0 });
  });
});
