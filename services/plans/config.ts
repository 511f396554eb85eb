/**
 * The plans service's own settings, from the environment (the hub's are in
 * shared/config.ts), checked at start-up with the hub's so every problem is
 * reported at once.
 *
 *   INFOSHARE_PLANS_BODY_LIMIT   largest plan, assessment or request accepted (413 above it)   default 512kb
 */
import { z } from 'zod';
import { parseSettings } from '../../shared/config.js';

const schema = z.object({
  INFOSHARE_PLANS_BODY_LIMIT: z.string().regex(/^\d+(?:\.\d+)?\s*(b|kb|mb)$/i, 'a size such as 512kb or 1mb').default('512kb'),
});

export interface PlansConfig {
  /** Body limit of the plans service: a larger document is refused with 413, nothing stored. */
  readonly bodyLimit: string;
}

export function loadPlansConfig(env: NodeJS.ProcessEnv = process.env): PlansConfig {
  const e = parseSettings(schema, env);
  return { bodyLimit: e.INFOSHARE_PLANS_BODY_LIMIT };
}
