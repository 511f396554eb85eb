import { chunksOf, transactionOf } from './chunks.js';
import type { InputRecord } from './input.js';

const records: InputRecord[] = Array.from({ length: 25 }, (_, i) => ({ patient: { resourceType: 'Patient', id: `p${i}` }, where: `line ${i + 1}` }));

describe('splitting a load into Bundles', () => {
  it('makes Bundles of the given size, the last one holding the rest, each knowing its first input record', () => {
    const chunks = chunksOf(records, 10);
    expect(chunks.map((c) => [c.index, c.first, c.records.length])).toEqual([
      [0, 0, 10],
      [1, 10, 10],
      [2, 20, 5],
    ]);
    expect(chunksOf(records, 1000)).toHaveLength(1);
  });

  it('refuses a size that is not a positive whole number', () => {
    expect(() => chunksOf(records, 0)).toThrow(RangeError);
    expect(() => chunksOf(records, 2.5)).toThrow(RangeError);
  });

  it('wraps each record as a POST Patient entry of a transaction, keeping its fullUrl', () => {
    const bundle = transactionOf({ index: 0, first: 0, records: [{ ...records[0]!, fullUrl: 'urn:uuid:1' }, records[1]!] });
    expect(bundle).toMatchObject({ resourceType: 'Bundle', type: 'transaction' });
    expect(bundle.entry).toEqual([
      { fullUrl: 'urn:uuid:1', resource: records[0]!.patient, request: { method: 'POST', url: 'Patient' } },
      { resource: records[1]!.patient, request: { method: 'POST', url: 'Patient' } },
    ]);
  });
});
