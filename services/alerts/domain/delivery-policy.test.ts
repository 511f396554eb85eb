import {
  classifyAttempt,
  DEFAULT_RETRY_POLICY,
  describeDuration,
  maxAttemptsWithin,
  nextStep,
  retryDelayMs,
  retryOrGiveUp,
  type AttemptContext,
  type ResponseSummary,
} from './delivery-policy.js';

const MESSAGE = 'msg-1';
const answered = (status: number, response?: ResponseSummary) => ({ kind: 'answered' as const, status, ...(response ? { response } : {}) });
const said = (code: ResponseSummary['code'], requestHeaderId = MESSAGE, details?: string): ResponseSummary => ({ code, requestHeaderId, ...(details ? { details } : {}) });

describe('classifyAttempt: what the agency answered', () => {
  it('acknowledges a 200 carrying an ok response message about the delivered message', () => {
    expect(classifyAttempt(answered(200, said('ok')), MESSAGE)).toEqual({ verdict: 'acknowledged' });
  });

  it('retries when the endpoint does not answer (timeout, connection refused)', () => {
    expect(classifyAttempt({ kind: 'no-answer', reason: 'connect ECONNREFUSED 127.0.0.1:1' }, MESSAGE)).toEqual({
      verdict: 'transient',
      reason: 'No answer: connect ECONNREFUSED 127.0.0.1:1',
    });
    expect(classifyAttempt({ kind: 'no-answer', reason: 'timed out after 5000 ms' }, MESSAGE).verdict).toBe('transient');
  });

  it('retries a transient-error response message, keeping the agency\'s words', () => {
    const verdict = classifyAttempt(answered(200, said('transient-error', MESSAGE, 'database locked')), MESSAGE);
    expect(verdict.verdict).toBe('transient');
    expect(verdict.verdict === 'transient' && verdict.reason).toContain('database locked');
  });

  it.each([500, 502, 503, 504, 408, 425, 429])('retries HTTP %i', (status) => {
    expect(classifyAttempt(answered(status), MESSAGE).verdict).toBe('transient');
  });

  it('dead-letters a fatal-error response message at once, whatever the status', () => {
    expect(classifyAttempt(answered(200, said('fatal-error', MESSAGE, 'unknown person')), MESSAGE)).toEqual({
      verdict: 'fatal',
      reason: 'The agency refused the message (fatal-error, HTTP 200): unknown person',
    });
    expect(classifyAttempt(answered(422, said('fatal-error')), MESSAGE).verdict).toBe('fatal');
  });

  it.each([400, 401, 403, 404, 410, 413, 422])('dead-letters HTTP %i without a response message', (status) => {
    expect(classifyAttempt(answered(status), MESSAGE).verdict).toBe('fatal');
  });

  it('believes a receiver that says transient-error on a 4xx (it knows its own state best)', () => {
    expect(classifyAttempt(answered(409, said('transient-error')), MESSAGE).verdict).toBe('transient');
  });

  it('never counts an ok on an error status, nor an ok about another message, as acknowledged', () => {
    expect(classifyAttempt(answered(500, said('ok')), MESSAGE).verdict).toBe('transient');
    const other = classifyAttempt(answered(200, said('ok', 'msg-other')), MESSAGE);
    expect(other.verdict).toBe('transient');
    expect(other.verdict === 'transient' && other.reason).toContain('msg-other');
  });

  it('retries a 2xx whose body is not a response message', () => {
    expect(classifyAttempt(answered(204), MESSAGE)).toEqual({ verdict: 'transient', reason: 'HTTP 204 without a readable response message' });
  });

  it('dead-letters a redirect (the token is for that endpoint only)', () => {
    expect(classifyAttempt(answered(302), MESSAGE).verdict).toBe('fatal');
  });
});

describe('retryDelayMs: exponential backoff with full jitter', () => {
  const policy = { baseDelayMs: 1000, maxDelayMs: 60_000, windowMs: 3600_000 };

  it('doubles the ceiling with each retry', () => {
    const top = () => 0.999_999;
    expect(retryDelayMs(1, policy, top)).toBe(999);
    expect(retryDelayMs(2, policy, top)).toBe(1999);
    expect(retryDelayMs(3, policy, top)).toBe(3999);
    expect(retryDelayMs(6, policy, top)).toBe(31_999);
  });

  it('never waits longer than the cap, however many retries', () => {
    expect(retryDelayMs(7, policy, () => 0.999_999)).toBe(59_999);
    expect(retryDelayMs(10_000, policy, () => 0.999_999)).toBe(59_999);
  });

  it('spreads delays over the whole range (full jitter), down to no wait at all', () => {
    expect(retryDelayMs(4, policy, () => 0)).toBe(0);
    expect(retryDelayMs(4, policy, () => 0.5)).toBe(4000);
    const delays = new Set(Array.from({ length: 200 }, () => retryDelayMs(5, policy, Math.random)));
    expect(delays.size).toBeGreaterThan(100);
    for (const d of delays) expect(d).toBeGreaterThanOrEqual(0);
    for (const d of delays) expect(d).toBeLessThan(16_000);
  });
});

describe('nextStep: retry, acknowledge or dead letter', () => {
  const accepted = new Date('2026-12-06T10:00:00Z');
  const context = (overrides: Partial<AttemptContext> = {}): AttemptContext => ({
    attempt: 1,
    windowStart: accepted,
    now: new Date(accepted.getTime() + 5_000),
    policy: DEFAULT_RETRY_POLICY,
    random: () => 0.5,
    ...overrides,
  });

  it('acknowledges an acknowledged attempt', () => {
    expect(nextStep({ verdict: 'acknowledged' }, context())).toEqual({ action: 'acknowledged' });
  });

  it('dead-letters a fatal answer on the first attempt, with the reason', () => {
    expect(nextStep({ verdict: 'fatal', reason: 'HTTP 404' }, context())).toEqual({ action: 'dead-letter', reason: 'HTTP 404' });
  });

  it('retries a transient failure inside the window, saying when', () => {
    const step = nextStep({ verdict: 'transient', reason: 'HTTP 503' }, context({ attempt: 3 }));
    expect(step).toEqual({ action: 'retry', delayMs: 2000, nextAttemptAt: new Date(accepted.getTime() + 7_000), reason: 'HTTP 503' });
  });

  it('dead-letters a transient failure once the 24 h window since acceptance has passed', () => {
    const step = nextStep({ verdict: 'transient', reason: 'No answer: timed out' }, context({ attempt: 190, now: new Date(accepted.getTime() + 24 * 3600_000) }));
    expect(step.action).toBe('dead-letter');
    expect(step.action === 'dead-letter' && step.reason).toBe(
      'Not delivered within the retry window of 24 h (190 attempt(s)); last failure: No answer: timed out',
    );
  });

  it('honours a configured window', () => {
    const policy = { ...DEFAULT_RETRY_POLICY, windowMs: 60_000 };
    expect(retryOrGiveUp('HTTP 500', context({ policy, now: new Date(accepted.getTime() + 59_000) })).action).toBe('retry');
    expect(retryOrGiveUp('HTTP 500', context({ policy, now: new Date(accepted.getTime() + 60_000) })).action).toBe('dead-letter');
  });

  it('brings the last retry forward to the end of the window rather than past it', () => {
    const policy = { baseDelayMs: 1000, maxDelayMs: 600_000, windowMs: 60_000 };
    const step = retryOrGiveUp('HTTP 500', context({ attempt: 12, policy, now: new Date(accepted.getTime() + 50_000), random: () => 0.99 }));
    expect(step).toMatchObject({ action: 'retry', delayMs: 10_000, nextAttemptAt: new Date(accepted.getTime() + 60_000) });
  });

  it('counts the window from a re-drive, not from the original acceptance', () => {
    const redriven = new Date(accepted.getTime() + 48 * 3600_000);
    expect(retryOrGiveUp('HTTP 500', context({ windowStart: redriven, now: new Date(redriven.getTime() + 1000) })).action).toBe('retry');
  });

  it('dead-letters rather than retry when the queue gives the job no further attempt', () => {
    const step = retryOrGiveUp('HTTP 500', context({ attempt: 500, lastAttempt: true }));
    expect(step).toEqual({ action: 'dead-letter', reason: 'Not delivered after 500 attempt(s), the most a delivery is given; last failure: HTTP 500' });
  });
});

describe('maxAttemptsWithin: the attempts backstop', () => {
  it('leaves room for several times the attempts a window holds, so the window, not the count, ends retrying', () => {
    const policy = DEFAULT_RETRY_POLICY;
    const max = maxAttemptsWithin(policy);
    const expected = policy.windowMs / (policy.maxDelayMs / 2);
    expect(max).toBeGreaterThan(3 * expected);
    expect(max).toBeLessThan(10 * expected);
  });

  it('grows with the window', () => {
    const day = maxAttemptsWithin(DEFAULT_RETRY_POLICY);
    expect(maxAttemptsWithin({ ...DEFAULT_RETRY_POLICY, windowMs: 7 * 24 * 3600_000 })).toBeGreaterThan(6 * day);
  });
});

describe('describeDuration', () => {
  it('says a window the way a person would', () => {
    expect(describeDuration(86_400_000)).toBe('24 h');
    expect(describeDuration(90_000)).toBe('90 s');
    expect(describeDuration(120_000)).toBe('2 min');
    expect(describeDuration(1500)).toBe('1500 ms');
  });
});
