/**
 * Reads kept by key, in this process: the read itself (its promise) is kept from the moment it is asked for, so
 * callers asking for one key within a round trip of each other share one read instead of each starting their own
 * before the first came back (a message's recipients, a person's delivery attempts). A read that fails, or whose
 * value `keeps` refuses, is dropped; past `limit` keys the least recently asked is dropped first. The caller
 * decides when kept reads are stale (`clear`).
 */
export class KeptReads<K, V> {
  private readonly kept = new Map<K, Promise<V>>();

  constructor(
    private readonly limit: number,
    private readonly keeps: (value: V) => boolean = () => true,
  ) {}

  /** The kept read of `key`, or `read()` started now and kept. */
  get(key: K, read: () => Promise<V>): Promise<V> {
    const hit = this.kept.get(key);
    if (hit) {
      // Most recently asked last.
      this.kept.delete(key);
      this.kept.set(key, hit);
      return hit;
    }
    const started = read();
    this.kept.set(key, started);
    if (this.kept.size > this.limit) this.kept.delete(this.kept.keys().next().value!);
    const forget = () => {
      if (this.kept.get(key) === started) this.kept.delete(key);
    };
    void started.then((value) => {
      if (!this.keeps(value)) forget();
    }, forget);
    return started;
  }

  clear(): void {
    this.kept.clear();
  }
}
