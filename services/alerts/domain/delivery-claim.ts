/**
 * How long an attempt's claim on its delivery runs, and whether a call started now still ends inside it. Pure.
 *
 * An attempt claims its delivery before it calls the agency (store.ts `claimDeliveries`): while the claim runs no
 * other run of the job calls, and only the claim's holder records the outcome — so an acknowledgement is recorded by
 * the run that sent the acknowledged call. A run that lost time after its claim (its process starved of CPU) could
 * start its call after the claim lapsed — after another run had claimed the delivery, delivered it and recorded the
 * acknowledgement: a send after the acknowledgement. So a call starts only if it ends (it is cut off at the
 * per-attempt timeout) before the claim does, with a margin for two clocks read in different places.
 */

/** What a call keeps clear of the end of its claim (ms): timers firing late, the claim script's clock read after the attempt's. */
export const CLAIM_MARGIN_MS = 500;

/** The claim's length (ms): the call and its batch linger twice over, and a second, so an on-time attempt never runs out of it. */
export function claimLeaseMs(timeoutMs: number, lingerMs: number): number {
  return 2 * timeoutMs + lingerMs + 1_000;
}

/**
 * Whether a call starting at `nowMs` — cut off `timeoutMs` later, after lingering `lingerMs` for a batch — ends before the
 * claim asked for at `claimAskedAtMs` lapses (the claim runs at least `leaseMs` from then: its script reads the clock later).
 */
export function callEndsWithinClaim(input: { readonly claimAskedAtMs: number; readonly leaseMs: number; readonly nowMs: number; readonly timeoutMs: number; readonly lingerMs: number }): boolean {
  return input.nowMs + input.lingerMs + input.timeoutMs + CLAIM_MARGIN_MS <= input.claimAskedAtMs + input.leaseMs;
}
