/**
 * The input split into transaction Bundles of `size` records, sent one after
 * another: each Bundle is all or nothing at the MPI, the load as a whole is not.
 */
import type { Bundle } from 'fhir/r4.js';
import type { InputRecord } from './input.js';

export interface Chunk {
  /** 0-based; Bundle n's `Bundle.entry[i]` is input record `first + i`. */
  readonly index: number;
  /** Index in the input of the Bundle's first record. */
  readonly first: number;
  readonly records: readonly InputRecord[];
}

export function chunksOf(records: readonly InputRecord[], size: number): Chunk[] {
  if (!Number.isInteger(size) || size < 1) throw new RangeError(`Bundle size must be a positive integer, got ${size}`);
  const chunks: Chunk[] = [];
  for (let first = 0; first < records.length; first += size) {
    chunks.push({ index: chunks.length, first, records: records.slice(first, first + size) });
  }
  return chunks;
}

/** A `transaction` Bundle of `POST Patient` entries, as the MPI takes an initial load. */
export function transactionOf(chunk: Chunk): Bundle {
  return {
    resourceType: 'Bundle',
    type: 'transaction',
    entry: chunk.records.map((r) => ({
      ...(r.fullUrl ? { fullUrl: r.fullUrl } : {}),
      resource: r.patient,
      request: { method: 'POST', url: 'Patient' },
    })),
  };
}
