/**
 * The agency simulator's own settings, from the environment (the hub's are in
 * shared/config.ts), checked at start-up with the hub's.
 *
 *   INFOSHARE_AGENCY_SIM_MAX_DELAY_MS   longest answer delay `slow` may be told to take   default 120000
 */
import { z } from 'zod';
import { parseSettings } from '../../shared/config.js';

const schema = z.object({
  INFOSHARE_AGENCY_SIM_MAX_DELAY_MS: z.coerce.number().int().min(0).max(3_600_000).default(120_000),
});

export interface AgencySimConfig {
  /** Upper bound of `delayMs` in a `slow` behaviour, so a typo cannot park requests for days. */
  readonly maxDelayMs: number;
}

export function loadAgencySimConfig(env: NodeJS.ProcessEnv = process.env): AgencySimConfig {
  const e = parseSettings(schema, env);
  return { maxDelayMs: e.INFOSHARE_AGENCY_SIM_MAX_DELAY_MS };
}
