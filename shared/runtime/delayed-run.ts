/**
 * One run of some work for all the requests made within a short delay of the
 * first: e.g. the alerts delivery worker's relay passes — each step commits its
 * audit records to the outbox, and one pass a few ms after the first step that
 * asks for one moves the records of every step made meanwhile on to the audit
 * stream (three round trips, two of them fsync'd writes), instead of a pass per
 * step. A request made while a run is going schedules the next run. The runs
 * are kept (background-work.ts), so whoever stops the owner can wait for them;
 * `settled` starts a run that is still waiting out its delay at once.
 */
import { BackgroundWork } from './background-work.js';

export class DelayedRun {
  private timer: NodeJS.Timeout | undefined;
  private readonly started = new BackgroundWork();

  constructor(
    /** The work; its failure is its own (a run that fails is not retried here). */
    private readonly run: () => Promise<unknown>,
    private readonly delayMs: number,
  ) {}

  /** A run within `delayMs` from now: the one already waiting, or a new one. */
  request(): void {
    this.timer ??= setTimeout(() => this.start(), this.delayMs);
  }

  /** Starts the run a request is waiting for now, then resolves once every run started has settled; never rejects. */
  async settled(): Promise<void> {
    if (this.timer !== undefined) this.start();
    await this.started.settled();
  }

  private start(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.started.add(this.run());
  }
}
