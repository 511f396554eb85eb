import type { Bundle } from 'fhir/r4.js';
import { batchRequestBody, batchResponse, isBatchBundle, isMessageBatchProblem, MAX_MESSAGES_PER_BATCH, readBatchResponse, readMessageBatch, type MessageBatch } from './message-batch.js';
import { buildResponseMessage } from './response-message.js';

const message = (id: string) => ({ resourceType: 'Bundle', type: 'message', entry: [{ resource: { resourceType: 'MessageHeader', id } }] });

describe('Message batches (several messages to one agency in one request)', () => {
  it('Writes a FHIR batch Bundle around the exact message bodies, each a POST $process-message, and reads them back in order', () => {
    const bodies = [JSON.stringify(message('m-1')), JSON.stringify(message('m-2'))];
    const text = batchRequestBody('b-1', bodies);
    const parsed = JSON.parse(text) as Bundle;
    expect(parsed).toMatchObject({ resourceType: 'Bundle', id: 'b-1', type: 'batch' });
    expect(parsed.entry?.map((e) => e.request)).toEqual([
      { method: 'POST', url: '$process-message' },
      { method: 'POST', url: '$process-message' },
    ]);
    // The bytes of each message are the ones the hub would have sent alone.
    for (const body of bodies) expect(text).toContain(body);
    expect(isBatchBundle(parsed)).toBe(true);
    expect(readMessageBatch(parsed)).toEqual({ id: 'b-1', messages: [message('m-1'), message('m-2')] });
  });

  it('Refuses what is not a message batch: another Bundle type, no id, no entries, an entry that is not a POST $process-message, too many messages', () => {
    const problem = (body: unknown) => {
      const read = readMessageBatch(body);
      return isMessageBatchProblem(read) ? read.expression : 'accepted';
    };
    expect(problem(message('m-1'))).toBe('Bundle.type');
    expect(problem({ resourceType: 'Bundle', type: 'batch', entry: [{ request: { method: 'POST', url: '$process-message' }, resource: message('m') }] })).toBe('Bundle.id');
    expect(problem({ resourceType: 'Bundle', id: 'b', type: 'batch', entry: [] })).toBe('Bundle.entry');
    expect(problem({ resourceType: 'Bundle', id: 'b', type: 'batch', entry: [{ request: { method: 'DELETE', url: 'Patient/1' } }] })).toBe('Bundle.entry[0].request');
    const many = JSON.parse(batchRequestBody('b', Array.from({ length: MAX_MESSAGES_PER_BATCH + 1 }, (_, i) => JSON.stringify(message(`m-${i}`))))) as unknown;
    expect(problem(many)).toBe('Bundle.entry');
    expect(isMessageBatchProblem(readMessageBatch(JSON.parse(batchRequestBody('b', [JSON.stringify(message('m'))])) as unknown) as MessageBatch)).toBe(false);
  });

  it('Answers with a batch-response, one entry per message in order: a response message, or an OperationOutcome for an entry refused', () => {
    const ok = buildResponseMessage({ requestHeaderId: 'm-1', code: 'ok', source: 'nhs-lothian' });
    const refused = { resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'invalid' }] };
    const answer = batchResponse('b-1', [
      { status: 200, resource: ok },
      { status: 400, resource: refused },
    ]);
    expect(answer.type).toBe('batch-response');
    expect(answer.entry?.[0]).toEqual({ resource: ok, response: { status: '200' } });
    expect(answer.entry?.[1]).toEqual({ response: { status: '400', outcome: refused } });
    expect(readBatchResponse(JSON.parse(JSON.stringify(answer)), 2)).toEqual([
      { status: 200, resource: ok },
      { status: 400, resource: refused },
    ]);
  });

  it('Reads a missing or unreadable entry as no answer for that message, and anything but a batch-response as no answer at all', () => {
    const answer = { resourceType: 'Bundle', type: 'batch-response', entry: [{ response: { status: '200' } }, { response: { status: 'fine' } }] };
    expect(readBatchResponse(answer, 3)).toEqual([{ status: 200 }, undefined, undefined]);
    expect(readBatchResponse(message('m-1'), 1)).toBeUndefined();
    expect(readBatchResponse('not json', 1)).toBeUndefined();
  });
});
