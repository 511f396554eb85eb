/**
 * Lets waiting I/O callbacks run in the middle of a long synchronous loop: resolves on the next
 * `setImmediate`, after the event loop's poll phase has run what arrived meanwhile. A loop doing
 * milliseconds of pure work per slice (parsing a 1,000-record Bundle, preparing a chunk) otherwise
 * delays every reply that arrives during it — in the MPI, the replies the chunk holding the index
 * lock is waiting for, so every other registration waits longer for the lock.
 */
export function yieldToIo(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
