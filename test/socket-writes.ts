/** How many writes a Redis connection's socket makes to the kernel while `run` runs (tests of commands sent together). */
import type { Redis } from 'ioredis';

/** Counts the socket's writes (Node's stream calls `_write` per chunk, `_writev` for chunks buffered together). */
export async function socketWrites<T>(client: Redis, run: () => Promise<T>): Promise<{ writes: number; result: T }> {
  const socket = client.stream as unknown as { _write: (...args: unknown[]) => void; _writev: (...args: unknown[]) => void };
  const { _write: write, _writev: writev } = socket;
  let writes = 0;
  socket._write = (...args) => {
    writes++;
    write.apply(socket, args);
  };
  socket._writev = (...args) => {
    writes++;
    writev.apply(socket, args);
  };
  try {
    const result = await run();
    return { writes, result };
  } finally {
    socket._write = write;
    socket._writev = writev;
  }
}
