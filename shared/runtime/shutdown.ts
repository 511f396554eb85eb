/**
 * A graceful stop that cannot hang forever. Closing a service waits on Redis
 * (a worker's blocking read, an outbox flush): if Redis stops answering, the
 * stop would wait with it, and an operator's Ctrl-C or a supervisor's SIGTERM
 * would leave the hub — and its private Redis — running. Past the limit, the
 * caller gives up on what did not finish and stops the rest.
 */

import type { Redis } from 'ioredis';
import type { Logger } from '../log.js';

/**
 * Closes services (`close`), then their Redis connection — the connection gracefully when the services
 * closed within `seconds`, else cut, with an error logged. Whether they closed in time.
 */
export async function closeWithin(close: () => Promise<void>, redis: Redis, seconds: number, log: Logger): Promise<boolean> {
  const closed = await settlesWithin(close(), seconds * 1000);
  if (closed) {
    await redis.quit().catch(() => redis.disconnect());
  } else {
    log.error({ shutdownSeconds: seconds }, 'services did not close in time (is Redis answering?): stopping regardless');
    redis.disconnect();
  }
  return closed;
}

/** Whether `work` settles within `ms` (it keeps running if not: the caller stops waiting for it). */
export async function settlesWithin(work: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  try {
    return await Promise.race([work.then(() => true as const), late]);
  } finally {
    clearTimeout(timer);
  }
}
