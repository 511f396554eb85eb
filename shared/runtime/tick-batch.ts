/**
 * Group commit for calls that arrive together: the calls made during one turn of
 * the event loop (e.g. every attempt a batch answer settles, or every job a
 * worker fetched in one read) go to `run` as ONE call after that turn — one
 * Redis script or round trip instead of one each — and each caller gets its
 * own result back.
 *
 * `run` starts only after every caller of its group asked (on the next
 * `setImmediate`, or at once when `maxSize` callers are waiting), so a read it
 * makes is never older than any caller's question: a revision check shared this
 * way is as fresh as one made per caller.
 */
interface Waiting<Input, Output> {
  readonly input: Input;
  readonly resolve: (output: Output) => void;
  readonly reject: (err: unknown) => void;
}

export class TickBatch<Input, Output> {
  private waiting: Waiting<Input, Output>[] = [];

  constructor(
    /** Does the work of a group: one output per input, in order. Its failure fails every caller of the group. */
    private readonly run: (inputs: readonly Input[]) => Promise<readonly Output[]>,
    /** A group goes at once when it reaches this size (a script's arguments stay bounded). */
    private readonly maxSize = 100,
  ) {}

  /** The output for `input`, from the group it joins. */
  submit(input: Input): Promise<Output> {
    return new Promise<Output>((resolve, reject) => {
      this.waiting.push({ input, resolve, reject });
      if (this.waiting.length >= this.maxSize) this.flush();
      else if (this.waiting.length === 1) setImmediate(() => this.flush());
    });
  }

  private flush(): void {
    const group = this.waiting;
    if (group.length === 0) return;
    this.waiting = [];
    Promise.resolve()
      .then(() => this.run(group.map((w) => w.input)))
      .then(
        (outputs) => {
          if (outputs.length !== group.length) throw new Error(`A grouped call answered ${outputs.length} results for ${group.length} inputs`);
          group.forEach((w, i) => w.resolve(outputs[i]!));
        },
      )
      .catch((err: unknown) => {
        for (const w of group) w.reject(err);
      });
  }
}

/** A read shared by the callers of one event-loop turn (a revision check): each caller gets a read made after it asked. */
export function sharedRead<Value>(read: () => Promise<Value>): () => Promise<Value> {
  const batch = new TickBatch<void, Value>(async (inputs) => {
    const value = await read();
    return inputs.map(() => value);
  }, Number.MAX_SAFE_INTEGER);
  return () => batch.submit(undefined);
}
