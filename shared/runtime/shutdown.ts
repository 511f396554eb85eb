/**
 * A graceful stop that cannot hang forever. Closing a service waits on Redis
 * (a worker's blocking read, an outbox flush): if Redis stops answering, the
 * stop would wait with it, and an operator's Ctrl-C or a supervisor's SIGTERM
 * would leave the hub — and its private Redis — running. Past the limit, the
 * caller gives up on what did not finish and stops the rest.
 */

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
