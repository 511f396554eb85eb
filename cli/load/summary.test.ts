import type { Bundle } from 'fhir/r4.js';
import { addTallies, EMPTY_TALLY, formatSummary, loadSummary, tallyResponse } from './summary.js';

const entry = (status: string, text: string) => ({
  response: { status, outcome: { resourceType: 'OperationOutcome', issue: [{ severity: 'information', code: 'informational', details: { text } }] } },
});

const response: Bundle = {
  resourceType: 'Bundle',
  type: 'transaction-response',
  entry: [
    entry('201 Created', 'Linked to Person/per-a (level4)'),
    entry('201 Created', 'Linked to Person/per-b (level3); may bridge a person indexed twice: review Task/mr-1'),
    entry('200 OK', 'Queued for review as Task/mr-2; indexed as Person/per-c meanwhile'),
    entry('201 Created', 'New person: Person/per-d'),
    entry('201 Created', 'Something a newer MPI says'),
  ] as Bundle['entry'],
};

describe('summarising a load from the MPI’s transaction-responses', () => {
  it('counts created and updated records, and linked (by CHI) / review / new persons from each outcome', () => {
    expect(tallyResponse(response)).toEqual({
      ...EMPTY_TALLY,
      records: 5,
      created: 4,
      updated: 1,
      linked: 2,
      linkedByChi: 1,
      possibleDuplicates: 1,
      queuedForReview: 1,
      newPersons: 1,
      otherOutcomes: 1,
    });
  });

  it('counts a record sent again exactly as stored as unchanged — not updated, not re-decided — and says so', () => {
    const resent: Bundle = {
      resourceType: 'Bundle',
      type: 'transaction-response',
      entry: [
        entry('200 OK', 'Unchanged (sent again as stored; nothing re-matched or written): Linked to Person/per-a (level3)'),
        entry('200 OK', 'Unchanged (sent again as stored; nothing re-matched or written): New person: Person/per-b'),
        entry('200 OK', 'Linked to Person/per-c (level3)'),
      ] as Bundle['entry'],
    };
    const tally = tallyResponse(resent);
    expect(tally).toEqual({ ...EMPTY_TALLY, records: 3, unchanged: 2, updated: 1, linked: 1 });
    const text = formatSummary(loadSummary(tally, { file: 'f', agency: 'a', bundles: 1, elapsedMs: 1000 }));
    expect(text).toMatch(/updated\s+1 \(re-submissions/);
    expect(text).toMatch(/unchanged\s+2 \(sent again exactly as stored: nothing written or re-matched/);
    expect(text).not.toContain('other outcomes');
  });

  it('counts every result of a Bundle the MPI had already accepted as the earlier load’s, not this run’s', () => {
    expect(tallyResponse(response, true).fromEarlierLoad).toBe(response.entry!.length);
    expect(tallyResponse(response).fromEarlierLoad).toBe(0);
    // Only what this run registered counts towards its rate.
    const oneNew: Bundle = { ...response, entry: [entry('201 Created', 'New person: Person/y')] as Bundle['entry'] };
    const tally = addTallies(tallyResponse(response, true), tallyResponse(oneNew));
    expect(loadSummary(tally, { file: 'f', agency: 'a', bundles: 2, elapsedMs: 1000 }).recordsPerSecond).toBe(1);
  });

  it('adds Bundles’ tallies and prints the summary in words, pointing at the matching report', () => {
    const tally = addTallies(tallyResponse(response), tallyResponse(response));
    expect(tally.records).toBe(10);
    const summary = loadSummary(tally, { file: 'extract.json', agency: 'edinburgh-housing', bundles: 2, elapsedMs: 2000 });
    expect(summary).toMatchObject({ records: 10, elapsedSeconds: 2, recordsPerSecond: 5, bundles: 2 });
    const text = formatSummary(summary);
    expect(text).toContain('Loaded 10 record(s) from extract.json as edinburgh-housing, in 2 Bundle(s): 2 s, 5 records/s');
    expect(text).toMatch(/created\s+8/);
    expect(text).toMatch(/updated\s+2 \(re-submissions/);
    expect(text).toMatch(/linked\s+4 \(2 by CHI\); 2 raised possible-duplicate reviews/);
    expect(text).toMatch(/queued for review\s+2/);
    expect(text).toMatch(/new persons\s+2/);
    expect(text).toContain('other outcomes        2');
    expect(text).toContain('infoshare matching report');
    expect(text).not.toContain('earlier identical load');
    expect(text).not.toContain('unchanged');
  });
});
