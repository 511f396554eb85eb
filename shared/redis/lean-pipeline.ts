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

  constructor(redis: PipelineClient, shaToScript: Record<string, unknown>) {
    super();
    // Pipeline's constructor (ioredis 6), field for field, but for the `length` accessor (on the prototype below) and
    // the client's scripts and added commands (on the client's own subclass's prototype: `pipelineClassOf`).
    this.redis = redis;
    this.isPipeline = true;
    this.replyPending = 0;
    this._queue = [];
    this._result = [];
    this._transactions = 0;
    // Shared by the client's pipelines: ioredis writes it in its constructor only and never reads it.
    this._shaToScript = shaToScript;
    this.isCluster = redis.constructor.name === 'Cluster' || redis.isCluster;
    this.options = redis.options;
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

/**
 * A client's pipeline class: LeanPipeline with the client's defined scripts and added built-in commands on its
 * prototype — what ioredis's constructor copies onto every pipeline as own properties (`this[name] = redis[name]`,
 * and `${name}Buffer`). BullMQ defines dozens of scripts on its connections: that was a hundred-odd property writes
 * per pipeline (per `addBulk`, per auto-pipelined batch), each pipeline a dictionary-mode object of its own whose
 * properties every caller then read megamorphically. `copied` is what the prototype holds, as the client had it.
 */
interface ClientPipelineClass {
  readonly make: new (redis: PipelineClient, shaToScript: Record<string, unknown>) => object;
  readonly shaToScript: Record<string, unknown>;
  readonly scripts: number;
  readonly builtins: number;
  readonly copied: readonly (readonly [string, unknown])[];
}

const clientClasses = new WeakMap<PipelineClient, ClientPipelineClass>();

/** The client's pipeline class, made again whenever the client's scripts or added commands are not what it copied. */
function pipelineClassOf(redis: PipelineClient): ClientPipelineClass {
  const known = clientClasses.get(redis);
  if (known && copiesStillHold(known, redis)) return known;
  const methods = redis as unknown as Record<string, unknown>;
  const copied: [string, unknown][] = [];
  const shaToScript: Record<string, unknown> = {};
  let scripts = 0;
  for (const name of Object.keys(redis.scriptsSet)) {
    scripts++;
    shaToScript[redis.scriptsSet[name]!.sha] = redis.scriptsSet[name];
    copied.push([name, methods[name]], [`${name}Buffer`, methods[`${name}Buffer`]]);
  }
  for (const name of redis.addedBuiltinSet) copied.push([name, methods[name]], [`${name}Buffer`, methods[`${name}Buffer`]]);
  class ClientPipeline extends LeanPipeline {}
  for (const [name, value] of copied) Object.defineProperty(ClientPipeline.prototype, name, { value, writable: true, enumerable: true, configurable: true });
  const made: ClientPipelineClass = { make: ClientPipeline, shaToScript, scripts, builtins: redis.addedBuiltinSet.size, copied };
  clientClasses.set(redis, made);
  return made;
}

/** Whether the client still has exactly the scripts and added commands the class copied (no allocation: once per pipeline). */
function copiesStillHold(known: ClientPipelineClass, redis: PipelineClient): boolean {
  if (redis.addedBuiltinSet.size !== known.builtins) return false;
  let scripts = 0;
  for (const name in redis.scriptsSet) if (Object.hasOwn(redis.scriptsSet, name)) scripts++;
  if (scripts !== known.scripts) return false;
  const methods = redis as unknown as Record<string, unknown>;
  for (const [name, value] of known.copied) if (methods[name] !== value) return false;
  return true;
}

/**
 * What ioredis's `pipeline()` / `multi()` construct (`new Pipeline(redis)`): the client's own LeanPipeline subclass.
 * A constructor that returns an object gives that object to `new`.
 */
function LeanPipelineOf(redis: PipelineClient): object {
  const { make, shaToScript } = pipelineClassOf(redis);
  return new make(redis, shaToScript);
}

pipelineModule.default = LeanPipelineOf as unknown as PipelineClass;

/** Whether `pipeline()` / `multi()` now make lean pipelines (importing this module installs them). */
export function leanPipelinesInstalled(): boolean {
  return pipelineModule.default === (LeanPipelineOf as unknown as PipelineClass);
}
