import { statusOf, isOperationOutcomeError } from '../../../shared/fhir/outcome.js';
import { behaviourAt, behaviourFor, OK_BEHAVIOUR, parseBehaviour } from './behaviour.js';

const options = { maxDelayMs: 10_000, nowMs: 1_000_000 };

function refusal(body: unknown): string {
  try {
    parseBehaviour(body, options);
  } catch (err) {
    if (!isOperationOutcomeError(err)) throw err;
    expect(statusOf(err)).toBe(422);
    return err.outcome.issue[0]?.details?.text ?? '';
  }
  throw new Error('accepted');
}

describe('Simulated agency behaviour', () => {
  it('Reads each mode; down drops the connection unless told to answer 503', () => {
    expect(parseBehaviour({ mode: 'ok' }, options)).toEqual({ mode: 'ok' });
    expect(parseBehaviour({ mode: 'transient' }, options)).toEqual({ mode: 'transient' });
    expect(parseBehaviour({ mode: 'fatal' }, options)).toEqual({ mode: 'fatal' });
    expect(parseBehaviour({ mode: 'down' }, options)).toEqual({ mode: 'down', failure: 'reset' });
    expect(parseBehaviour({ mode: 'down', failure: '503' }, options)).toEqual({ mode: 'down', failure: '503' });
    expect(parseBehaviour({ mode: 'slow', delayMs: 250 }, options)).toEqual({ mode: 'slow', delayMs: 250 });
  });

  it('Turns forMs into the time the behaviour ends', () => {
    expect(parseBehaviour({ mode: 'down', forMs: 5000 }, options)).toMatchObject({ until: 1_005_000 });
  });

  it('Refuses an unknown mode, slow without a delay, a delay beyond the limit, options of another mode and unknown fields', () => {
    expect(refusal({ mode: 'sleepy' })).toMatch(/mode/);
    expect(refusal({ mode: 'slow' })).toMatch(/delayMs/);
    expect(refusal({ mode: 'slow', delayMs: 10_001 })).toMatch(/delayMs/);
    expect(refusal({ mode: 'ok', delayMs: 5 })).toMatch(/delayMs/);
    expect(refusal({ mode: 'fatal', failure: '503' })).toMatch(/failure/);
    expect(refusal({ mode: 'ok', colour: 'red' })).toMatch(/body|colour|Unrecognized/);
    expect(refusal(undefined)).toMatch(/mode|body/);
  });

  it('A timed behaviour is in force until it ends, then the agency answers ok', () => {
    const down = parseBehaviour({ mode: 'down', forMs: 100 }, options);
    expect(behaviourAt(down, 1_000_099)).toBe(down);
    expect(behaviourAt(down, 1_000_100)).toBe(OK_BEHAVIOUR);
    expect(behaviourAt(undefined, 0)).toBe(OK_BEHAVIOUR);
  });

  it('A behaviour limited to some messages answers the others ok; only transient and fatal can be limited', () => {
    const one = parseBehaviour({ mode: 'transient', messages: ['msg-2'] }, options);
    expect(behaviourFor(one, 'msg-2')).toBe(one);
    expect(behaviourFor(one, 'msg-1')).toBe(OK_BEHAVIOUR);
    expect(behaviourFor(parseBehaviour({ mode: 'fatal' }, options), 'msg-1')).toMatchObject({ mode: 'fatal' });
    expect(refusal({ mode: 'down', messages: ['msg-2'] })).toMatch(/messages/);
    expect(refusal({ mode: 'fatal', messages: [] })).toMatch(/messages/);
  });
});
