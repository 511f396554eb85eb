/**
 * ioredis's Pipeline — behind every `pipeline()`, `multi()` and auto-pipelined batch — without the per-instance
 * `length` accessor its constructor defines (`Object.defineProperty(this, 'length', { get: () => this._queue.length })`).
 *
 * Why: a getter made afresh for every pipeline cannot share V8's hidden class with the last one, so each pipeline
 * gets a map of its own in the old generation, holding that getter, which holds the pipeline, its commands, their
 * callbacks and whatever awaits them — for a request, its whole req/res graph. A young collection treats an
 * old-generation object as alive whatever it is, so all of that outlived every scavenge until the next major
 * collection (session 20, a bare Express app with one Redis read per request, sequential requests,
 * `--trace-gc-nvp`): 17.7 % of what a request allocated survived a scavenge with an explicit pipeline, 11.6 % with
 * auto-pipelining, 0.03 % with plain commands — and **0.04 % with the accessor on the prototype**, pauses per
 * scavenge 25-48 ms → 1-2 ms. The plans service's access reads are auto-pipelined (module.ts), the audit sink
 * appends in pipelines, the stores read in MULTIs: every service's requests were kept this way.
 *
 * The subclass builds exactly what Pipeline's constructor builds (lean-pipeline.int.test.ts holds it to the same
 * own properties, so an ioredis upgrade that adds one fails there) and reads `length` from its prototype. Installed
 * once, by replacing the class ioredis's `pipeline()` / `multi()` construct (transaction.js reads the module's
 * `default` at each call).
 */
import { createRequire } from 'node:module';
import type { Redis } from 'ioredis';

/** What Pipeline's constructor reads from its client (ioredis/built/Pipeline.js). */
interface PipelineClient {
  readonly constructor: { readonly name: string };
  readonly isCluster?: boolean;
  readonly options: object;
  readonly scriptsSet: Record<string, { readonly sha: string }>;
  readonly addedBuiltinSet: Set<string>;
}

type PipelineClass = new (redis: Redis) => object;

const require = createRequire(import.meta.url);
const pipelineModule = require('ioredis/built/Pipeline.js') as { default: PipelineClass };
const commanderModule = require('ioredis/built/utils/Commander.js') as { default: new () => object };

/** ioredis's own class, as its module defined it (kept for the test that compares the two). */
export const IoredisPipeline: PipelineClass = pipelineModule.default;

class LeanPipeline extends commanderModule.default {
  [name: string]: unknown;

  constructor(redis: PipelineClient) {
    super();
    // Pipeline's constructor (ioredis 6), field for field, but for the `length` accessor (on the prototype below).
    this.redis = redis;
    this.isPipeline = true;
    this.replyPending = 0;
    this._queue = [];
    this._result = [];
    this._transactions = 0;
    const shaToScript: Record<string, unknown> = {};
    this._shaToScript = shaToScript;
    this.isCluster = redis.constructor.name === 'Cluster' || redis.isCluster;
    this.options = redis.options;
    const methods = redis as unknown as Record<string, unknown>;
    for (const name of Object.keys(redis.scriptsSet)) {
      shaToScript[redis.scriptsSet[name]!.sha] = redis.scriptsSet[name];
      this[name] = methods[name];
      this[`${name}Buffer`] = methods[`${name}Buffer`];
    }
    for (const name of redis.addedBuiltinSet) {
      this[name] = methods[name];
      this[`${name}Buffer`] = methods[`${name}Buffer`];
    }
    this.promise = new Promise((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
  }

  /** The commands queued so far (Pipeline's `length`). */
  get length(): number {
    return (this._queue as unknown[]).length;
  }
}
// Pipeline's methods (exec, fillResult, …) and, through them, Commander's.
Object.setPrototypeOf(LeanPipeline.prototype, IoredisPipeline.prototype as object);

pipelineModule.default = LeanPipeline;

/** Whether `pipeline()` / `multi()` now make lean pipelines (importing this module installs them). */
export function leanPipelinesInstalled(): boolean {
  return pipelineModule.default === (LeanPipeline as unknown as PipelineClass);
}
