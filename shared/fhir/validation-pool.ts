/**
 * R4 validation of many resources at once (a bulk transaction's entries), or
 * of one large one, on worker threads, so that a service's event loop keeps
 * serving — matching, Redis replies, `/health`, other requests — while a
 * thousand-entry Bundle or a megabyte body is checked (about 0.5 ms per KB of
 * JSON). Each worker runs the very same validator (`validityOf` →
 * validate.ts), so the answer is the same as validating inline; only the
 * thread differs. Workers start on first use. Small work runs on the calling
 * thread; so does a large batch of small resources while no worker is ready
 * yet. Heavy work — a body of HEAVY_BYTES or more — waits for a worker rather
 * than block the event loop, unless the pool has no threads at all.
 */
import os from 'node:os';
import type { Worker } from 'node:worker_threads';
import type { Logger } from '../log.js';
import { startScriptThread } from '../runtime/script-thread.js';
import { VALID, validityOf, type Validity } from './validate.js';
import { isPlainValidPatient } from './plain-patient.js';
import type { ValidationReply, ValidationRequest } from './validation-worker.js';

export interface ValidationPoolOptions {
  /** Worker threads (default: one fewer than the cores, at least 1, at most 4). 0: always on the calling thread. */
  readonly size?: number;
  /** Batches smaller than this are validated on the calling thread: the message costs more than it saves. */
  readonly minBatch?: number;
  /** Work of at least this many bytes of JSON always goes to a worker (default HEAVY_BYTES). */
  readonly heavyBytes?: number;
  readonly log?: Logger;
}

interface Job {
  readonly resources: readonly unknown[];
  readonly expectedType: string | undefined;
  readonly resolve: (results: Validity[]) => void;
  readonly reject: (err: Error) => void;
}

interface PoolWorker {
  readonly thread: Worker;
  ready: boolean;
  readonly jobs: Map<number, Job>;
  /** Resolves once the thread is ready or has exited. */
  readonly settled: Promise<void>;
}

const DEFAULT_MIN_BATCH = 32;

/** Bytes of JSON from which validation leaves the event loop: about 30 ms of validator work. */
export const HEAVY_BYTES = 64 * 1024;

export interface ValidationWork {
  /** Size of the JSON the resources came in (the request body), which validation time follows. */
  readonly bytes?: number;
  /**
   * The one resource's JSON as received (`validate` only): a worker is sent this text rather than the
   * parsed object, whose structured clone would cost the event loop about as much as validating it.
   */
  readonly json?: string;
  /**
   * The resources are as JSON.parse made them from a request body, unchanged since: a batch may then cross to a
   * worker as one JSON text (stringified here, parsed there) — about 40 % less CPU than its structured clone on
   * both threads. Not for objects built in code: JSON would drop an `undefined` the validator reports.
   */
  readonly parsedJson?: boolean;
}

export class ValidationPool {
  private readonly size: number;
  private readonly minBatch: number;
  private readonly heavyBytes: number;
  private readonly workers: PoolWorker[] = [];
  private nextJobId = 1;
  private started = false;
  private closed = false;
  /** Set when a worker could not start: the pool then validates inline rather than respawn in a loop. */
  private broken = false;

  constructor(private readonly options: ValidationPoolOptions = {}) {
    this.size = options.size ?? Math.max(1, Math.min(4, os.availableParallelism() - 1));
    this.minBatch = options.minBatch ?? DEFAULT_MIN_BATCH;
    this.heavyBytes = options.heavyBytes ?? HEAVY_BYTES;
  }

  /**
   * The validity of each resource, in order (as `validityOf` would say,
   * resource by resource). Never rejects for an invalid resource; rejects only
   * if the validator itself fails unexpectedly.
   */
  async validateEach(resources: readonly unknown[], expectedType?: string, work: ValidationWork = {}): Promise<Validity[]> {
    // Plain valid Patients (a bulk load's records) are answered here: recognising one costs less than sending it (plain-patient.ts).
    // Not when the JSON text is given: the text is what is judged.
    if (work.json !== undefined) return this.validateRest(resources, expectedType, work);
    let plain = 0;
    const known = resources.map((r) => {
      if (!isPlainValidPatient(r, expectedType)) return undefined;
      plain++;
      return VALID;
    });
    if (plain === resources.length) return known as Validity[];
    if (plain === 0) return this.validateRest(resources, expectedType, work);
    const rest = resources.filter((_, i) => known[i] === undefined);
    const bytes = work.bytes === undefined ? undefined : Math.round((work.bytes * rest.length) / resources.length);
    const checked = await this.validateRest(rest, expectedType, { ...work, bytes });
    let next = 0;
    return known.map((v) => v ?? checked[next++]!);
  }

  private async validateRest(resources: readonly unknown[], expectedType: string | undefined, work: ValidationWork): Promise<Validity[]> {
    const heavy = (work.bytes ?? 0) >= this.heavyBytes;
    if (heavy) await this.threadStarted();
    // From here to the sends, nothing awaits: a close() in between could leave jobs with a terminated thread.
    const ready = this.readyWorkers(resources.length, heavy);
    if (ready.length === 0) return resources.map((r) => validityOf(r, expectedType));
    if (work.json !== undefined && resources.length === 1) return this.send(ready[0]!, resources, expectedType, [work.json]);
    const per = Math.ceil(resources.length / ready.length);
    const slices = ready.map((w, k) => this.send(w, resources.slice(k * per, (k + 1) * per), expectedType, undefined, work.parsedJson));
    return (await Promise.all(slices)).flat();
  }

  /** The verdict on one resource (as `validityOf` would say), off the event loop when it is heavy. */
  async validate(resource: unknown, expectedType?: string, work: ValidationWork = {}): Promise<Validity> {
    return (await this.validateEach([resource], expectedType, work))[0]!;
  }

  /** Worker threads ready to validate (0 before first use, after close, or when threads could not start). */
  get threadsReady(): number {
    return this.workers.filter((w) => w.ready).length;
  }

  /** Starts the workers now and waits until each is ready (or could not start): a service may call it at start. */
  async warmUp(): Promise<void> {
    if (this.closed || this.size === 0) return;
    this.start();
    await Promise.all(this.workers.map((w) => w.settled));
  }

  /** Stops the workers; jobs still pending are finished on the calling thread. */
  async close(): Promise<void> {
    this.closed = true;
    const workers = this.workers.splice(0);
    for (const w of workers) this.finishInline(w);
    await Promise.all(workers.map((w) => w.thread.terminate()));
  }

  /** Starts the workers if need be and waits until one is ready (or none could start). */
  private async threadStarted(): Promise<void> {
    if (this.closed || this.broken || this.size === 0) return;
    this.start();
    if (this.threadsReady === 0) await Promise.all(this.workers.map((w) => w.settled));
  }

  /** The workers ready to take a batch of `n` (heavy: even a small one); none means validate here. Starts the workers on first use. */
  private readyWorkers(n: number, heavy: boolean): PoolWorker[] {
    if (this.closed || this.broken || this.size === 0 || (n < this.minBatch && !heavy)) return [];
    this.start();
    return this.workers
      .filter((w) => w.ready)
      .sort((a, b) => a.jobs.size - b.jobs.size)
      .slice(0, Math.max(1, Math.floor(n / this.minBatch)));
  }

  private start(): void {
    if (this.started) return;
    this.started = true;
    for (let i = 0; i < this.size; i++) this.spawn();
  }

  /**
   * Sends a batch to a worker: as JSON `texts` when given (the same resources), as one JSON text of the batch when
   * the resources are parsed JSON, else the objects themselves.
   */
  private send(w: PoolWorker, resources: readonly unknown[], expectedType: string | undefined, texts?: readonly string[], parsedJson = false): Promise<Validity[]> {
    return new Promise((resolve, reject) => {
      const id = this.nextJobId++;
      // The objects stay with the job: a worker that dies before answering, or close(), validates them here.
      w.jobs.set(id, { resources, expectedType, resolve, reject });
      const request: ValidationRequest = texts
        ? { id, resources: [], texts, expectedType }
        : parsedJson
          ? { id, resources: [], batchText: JSON.stringify(resources), expectedType }
          : { id, resources, expectedType };
      w.thread.postMessage(request);
      w.thread.ref();
    });
  }

  private spawn(): void {
    const thread = startWorkerThread();
    let settle = () => {};
    const settled = new Promise<void>((resolve) => (settle = resolve));
    const w: PoolWorker = { thread, ready: false, jobs: new Map(), settled };
    this.workers.push(w);
    // An idle pool must not keep a process alive; a pending job refs it again.
    thread.unref();
    thread.on('message', (reply: ValidationReply) => {
      if (reply.kind === 'ready') {
        w.ready = true;
        settle();
        return;
      }
      const job = w.jobs.get(reply.id);
      if (!job) return;
      w.jobs.delete(reply.id);
      if (w.jobs.size === 0) thread.unref();
      if (reply.kind === 'failed') job.reject(new Error(`Validation failed in a worker thread: ${reply.message}`));
      else job.resolve(reply.results.map((v) => v ?? VALID));
    });
    thread.on('error', (err) => {
      this.options.log?.warn({ err: err.message }, 'validation worker failed; validating on the main thread meanwhile');
    });
    thread.on('exit', (code) => {
      settle();
      const at = this.workers.indexOf(w);
      if (at < 0) return; // closed
      this.workers.splice(at, 1);
      if (!w.ready) this.broken = true;
      else if (!this.closed) this.spawn();
      this.options.log?.warn({ code, ready: w.ready }, 'validation worker exited');
      this.finishInline(w);
    });
  }

  /** Jobs a worker will not answer: validated here, so callers still get an answer. */
  private finishInline(w: PoolWorker): void {
    for (const job of w.jobs.values()) {
      try {
        job.resolve(job.resources.map((r) => validityOf(r, job.expectedType)));
      } catch (err) {
        job.reject(err instanceof Error ? err : new Error(String(err)));
      }
    }
    w.jobs.clear();
  }
}

/** The worker script: `validation-worker` beside this file (shared/runtime/script-thread.ts). */
function startWorkerThread(): Worker {
  return startScriptThread(import.meta.url, 'validation-worker');
}
