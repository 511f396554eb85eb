/**
 * A validation worker thread (see validation-pool.ts): loads the R4 definitions
 * once, then answers each batch with `validityOf` of every resource, in order.
 */
import { parentPort } from 'node:worker_threads';
import { preloadFhirDefinitions, validityOf, type Validity } from './validate.js';

export interface ValidationRequest {
  readonly id: number;
  readonly resources: readonly unknown[];
  /** The resources as JSON text instead (parsed here): a string crosses threads for a copy of its bytes. */
  readonly texts?: readonly string[];
  /** The resources as the JSON text of one array of them (parsed here): cheaper for both threads than cloning a batch. */
  readonly batchText?: string;
  readonly expectedType: string | undefined;
}

/** A verdict as it crosses back: `null` for valid (a batch is mostly valid: nothing to clone for those). */
export type ReplyVerdict = (Validity & { valid: false }) | null;

export type ValidationReply =
  | { readonly kind: 'ready' }
  | { readonly kind: 'done'; readonly id: number; readonly results: ReplyVerdict[] }
  | { readonly kind: 'failed'; readonly id: number; readonly message: string };

const port = parentPort;
if (port) {
  preloadFhirDefinitions();
  const reply = (message: ValidationReply) => port.postMessage(message);
  port.on('message', (request: ValidationRequest) => {
    try {
      const resources = resourcesOf(request);
      reply({ kind: 'done', id: request.id, results: resources.map((r) => replyVerdict(validityOf(r, request.expectedType))) });
    } catch (err) {
      reply({ kind: 'failed', id: request.id, message: err instanceof Error ? err.message : String(err) });
    }
  });
  reply({ kind: 'ready' });
}

function resourcesOf(request: ValidationRequest): readonly unknown[] {
  if (request.batchText !== undefined) return JSON.parse(request.batchText) as unknown[];
  return request.texts ? request.texts.map((text) => JSON.parse(text) as unknown) : request.resources;
}

function replyVerdict(validity: Validity): ReplyVerdict {
  return validity.valid ? null : validity;
}
