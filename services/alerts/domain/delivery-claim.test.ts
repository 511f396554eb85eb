import { callEndsWithinClaim, claimLeaseMs, CLAIM_MARGIN_MS } from './delivery-claim.js';

describe('a delivery attempt and its claim', () => {
  const timeoutMs = 2_000;
  const lingerMs = 5;
  const leaseMs = claimLeaseMs(timeoutMs, lingerMs);

  it('lets an attempt that calls soon after its claim call', () => {
    expect(callEndsWithinClaim({ claimAskedAtMs: 0, leaseMs, nowMs: 50, timeoutMs, lingerMs })).toBe(true);
    // Up to a whole timeout late and a second to spare.
    expect(callEndsWithinClaim({ claimAskedAtMs: 0, leaseMs, nowMs: timeoutMs + 1_000 - CLAIM_MARGIN_MS, timeoutMs, lingerMs })).toBe(true);
  });

  it('keeps a starved attempt from calling when its call could outlast the claim (another run may have claimed, delivered and recorded the acknowledgement by then)', () => {
    expect(callEndsWithinClaim({ claimAskedAtMs: 0, leaseMs, nowMs: timeoutMs + 1_000 - CLAIM_MARGIN_MS + 1, timeoutMs, lingerMs })).toBe(false);
    expect(callEndsWithinClaim({ claimAskedAtMs: 0, leaseMs, nowMs: leaseMs + 1, timeoutMs, lingerMs })).toBe(false);
  });
});
