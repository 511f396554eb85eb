/**
 * Key naming: `<prefix>:{<tag>}:<part>…`, Cluster-ready (everything written together in one
 * MULTI/Lua script shares one `{tag}`). Its own module, with no Redis client in it, so a
 * thread that only needs key names (the log's verification threads) does not load ioredis.
 */
/** Builds key names under one namespace. `key('Patient/1', 'v')` → `is:{Patient/1}:v`. */
export class KeySpace {
  constructor(readonly prefix: string) {
    if (/[{}]/.test(prefix)) throw new Error('Key prefix must not contain braces');
  }

  key(tag: string, ...parts: (string | number)[]): string {
    // Appended rather than spread into an array and joined: the MPI names a key per search term,
    // blocking key and Person of every chunk it registers.
    let key = `${this.prefix}:{${tag}}`;
    for (const part of parts) key += `:${part}`;
    return key;
  }

  /** BullMQ `prefix` option for a queue family: a hash tag so every queue key lands in one slot. */
  queuePrefix(family: string): string {
    return `${this.prefix}:{${family}}`;
  }
}
