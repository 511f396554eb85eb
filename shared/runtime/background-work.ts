/**
 * Work a caller starts and does not wait for (it need not hold up what the
 * caller does next), kept so that whoever stops the caller's owner can wait for
 * all of it: nothing started is cut off by a close. E.g. the alerts delivery
 * worker's relay passes after each step (services/alerts/workers/deliveries.ts).
 */
export class BackgroundWork {
  private readonly pending = new Set<Promise<unknown>>();

  /** Keeps `work` until it settles; its failure is its own (handled by whoever made it, or ignored here). */
  add(work: Promise<unknown>): void {
    this.pending.add(work);
    void work.then(
      () => this.pending.delete(work),
      () => this.pending.delete(work),
    );
  }

  /** How much is still running. */
  get size(): number {
    return this.pending.size;
  }

  /** Resolves once everything added — including work added while waiting — has settled; never rejects. */
  async settled(): Promise<void> {
    while (this.pending.size > 0) await Promise.allSettled([...this.pending]);
  }
}
