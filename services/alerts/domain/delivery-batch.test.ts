import { Extensions } from '../../../shared/fhir/systems.js';
import { batchResponse, MAX_MESSAGES_PER_BATCH } from '../../../shared/messaging/message-batch.js';
import { buildResponseMessage } from '../../../shared/messaging/response-message.js';
import { attemptResultsOfBatch, batchSizeOf, endpointFailed } from './delivery-batch.js';
import { classifyAttempt } from './delivery-policy.js';

const optIn = (value: unknown) => ({ extension: [{ url: Extensions.deliveryBatchSize, valuePositiveInt: value as number }] });
const responseTo = (id: string, code: 'ok' | 'transient-error' | 'fatal-error') => buildResponseMessage({ requestHeaderId: id, code, source: 'nhs-lothian' });
/** The batch-response body as it arrives (JSON round trip). */
const arrived = (bundle: unknown): unknown => JSON.parse(JSON.stringify(bundle));

describe('Batched delivery: whether an Endpoint takes batches', () => {
  it('Sends one message per request unless the Endpoint states a batch size of 2 or more', () => {
    expect(batchSizeOf(undefined)).toBe(1);
    expect(batchSizeOf({})).toBe(1);
    expect(batchSizeOf(optIn(1))).toBe(1);
    expect(batchSizeOf(optIn(0))).toBe(1);
    expect(batchSizeOf(optIn(2.5))).toBe(1);
    expect(batchSizeOf(optIn('20'))).toBe(1);
    expect(batchSizeOf(optIn(20))).toBe(20);
  });

  it('Never sends more than the hub’s maximum per request, whatever the Endpoint states', () => {
    expect(batchSizeOf(optIn(10_000))).toBe(MAX_MESSAGES_PER_BATCH);
  });
});

describe('Batched delivery: what each message of a batch request came to', () => {
  it('Gives each message its own verdict from its own entry: one refused message does not fail the others', () => {
    const body = arrived(
      batchResponse('b', [
        { status: 200, resource: responseTo('m-1', 'ok') },
        { status: 200, resource: responseTo('m-2', 'transient-error') },
        { status: 200, resource: responseTo('m-3', 'fatal-error') },
        { status: 200, resource: responseTo('m-4', 'ok') },
      ]),
    );
    const results = attemptResultsOfBatch({ kind: 'answered', status: 200, body }, 4);
    expect(results.map((r, i) => classifyAttempt(r, `m-${i + 1}`).verdict)).toEqual(['acknowledged', 'transient', 'fatal', 'acknowledged']);
  });

  it('Retries a message whose entry is missing, is not a response message, or answers another message', () => {
    const body = arrived(batchResponse('b', [{ status: 200, resource: responseTo('m-9', 'ok') }, { status: 200, resource: { resourceType: 'Patient' } }]));
    const results = attemptResultsOfBatch({ kind: 'answered', status: 200, body }, 3);
    expect(results.map((r, i) => classifyAttempt(r, `m-${i + 1}`).verdict)).toEqual(['transient', 'transient', 'transient']);
  });

  it('Dead-letters a message whose entry the receiver refused with a 4xx, as it would alone', () => {
    const body = arrived(batchResponse('b', [{ status: 422, resource: { resourceType: 'OperationOutcome', issue: [] } }]));
    expect(classifyAttempt(attemptResultsOfBatch({ kind: 'answered', status: 200, body }, 1)[0]!, 'm-1').verdict).toBe('fatal');
  });

  it('Applies no answer, a 5xx or a refusal of the whole request to every message, as if each had been sent alone', () => {
    expect(attemptResultsOfBatch({ kind: 'no-answer', reason: 'ECONNREFUSED' }, 2)).toEqual([
      { kind: 'no-answer', reason: 'ECONNREFUSED' },
      { kind: 'no-answer', reason: 'ECONNREFUSED' },
    ]);
    expect(attemptResultsOfBatch({ kind: 'answered', status: 503 }, 2).map((r) => classifyAttempt(r, 'm').verdict)).toEqual(['transient', 'transient']);
    expect(attemptResultsOfBatch({ kind: 'answered', status: 401 }, 2).map((r) => classifyAttempt(r, 'm').verdict)).toEqual(['fatal', 'fatal']);
    // A 2xx that is no batch-response acknowledges nothing.
    expect(attemptResultsOfBatch({ kind: 'answered', status: 200, body: arrived(responseTo('m', 'ok')) }, 2).map((r) => classifyAttempt(r, 'm').verdict)).toEqual(['transient', 'transient']);
  });

  it('Counts a batch request against the endpoint’s circuit breaker once, and only when the request as a whole failed', () => {
    expect(endpointFailed({ kind: 'no-answer', reason: 'timeout' })).toBe(true);
    expect(endpointFailed({ kind: 'answered', status: 503 })).toBe(true);
    expect(endpointFailed({ kind: 'answered', status: 429 })).toBe(true);
    expect(endpointFailed({ kind: 'answered', status: 200 })).toBe(false);
    expect(endpointFailed({ kind: 'answered', status: 400 })).toBe(false);
  });
});
