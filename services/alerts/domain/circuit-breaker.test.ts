import { afterFailure, afterSuccess, breakerAllows, CLOSED, type BreakerOptions, type BreakerState } from './circuit-breaker.js';

const options: BreakerOptions = { threshold: 3, coolDownMs: 1000, maxCoolDownMs: 3000 };
const failTimes = (state: BreakerState, times: number, now: number) => {
  let s = state;
  for (let i = 0; i < times; i++) s = afterFailure(s, now, options);
  return s;
};

describe('per-agency circuit breaker', () => {
  it('lets calls through until the threshold of failures in a row', () => {
    const state = failTimes(CLOSED, 2, 0);
    expect(breakerAllows(state, 0)).toEqual({ allowed: true });
  });

  it('leaves the endpoint alone for the cool-down once the threshold is reached', () => {
    const state = failTimes(CLOSED, 3, 10_000);
    expect(breakerAllows(state, 10_500)).toEqual({ allowed: false, until: 11_000 });
    expect(breakerAllows(state, 11_000)).toEqual({ allowed: true });
  });

  it('doubles the cool-down after a failed probe, up to the maximum', () => {
    let state = failTimes(CLOSED, 3, 0);
    state = afterFailure(state, 1000, options);
    expect(state.openUntil).toBe(3000);
    state = afterFailure(state, 3000, options);
    expect(state.openUntil).toBe(6000);
    state = afterFailure(state, 6000, options);
    expect(state.openUntil).toBe(9000);
  });

  it('closes on the first usable answer', () => {
    const state = afterSuccess();
    expect(state).toEqual(CLOSED);
    expect(breakerAllows(failTimes(state, 2, 0), 0).allowed).toBe(true);
  });
});
