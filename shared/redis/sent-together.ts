/**
 * Commands that several modules start at once on one connection, sent to Redis in one socket write.
 *
 * ioredis writes each command to the socket as it is called: reads started one after another in the same
 * synchronous stretch (an accept's partnership revision, its earlier answer, its subject in the index) leave as
 * one system call each, and Redis wakes, reads and answers each on its own — per command a write here, a read
 * and a reply write there, and a reply event to parse here. With the socket corked while they are started they
 * leave as one write (`writev`), Redis reads them in one go and answers them together. Nothing else changes:
 * the same commands, in the same order, each with its own reply. An explicit pipeline would do the same, but the
 * commands belong to different modules (the directory's view, the MPI's view, the service's store), each of
 * which returns its own promise.
 */
import type { Redis } from 'ioredis';

/**
 * Runs `start` — which starts commands on `redis` and returns without waiting for them — with the connection's
 * socket corked, and uncorks it before returning: whatever `start` sent synchronously goes out in one write.
 * Commands started after its first await are written on their own, as without this. A connection that is not
 * ready (ioredis queues commands offline) is left alone.
 */
export function sentTogether<T>(redis: Redis, start: () => T): T {
  const socket = redis.status === 'ready' ? redis.stream : undefined;
  if (!socket || socket.destroyed) return start();
  socket.cork();
  try {
    return start();
  } finally {
    socket.uncork();
  }
}
