/**
 * The plans service's own settings, from the environment (the hub's are in
 * shared/config.ts), checked at start-up with the hub's so every problem is
 * reported at once.
 *
 *   INFOSHARE_PLANS_BODY_LIMIT   largest plan, assessment or request accepted (413 above it)   default 512kb
 *   INFOSHARE_PLANS_CONSENT_CHECK  `on` (default); `off` ONLY for `npm run bench:plans`' baseline — consent then has no
 *                                say and the ISP alone decides. Never turn it off for a partnership's hub.
 */
import { z } from 'zod';
import { parseSettings } from '../../shared/config.js';

const schema = z.object({
  INFOSHARE_PLANS_BODY_LIMIT: z.string().regex(/^\d+(?:\.\d+)?\s*(b|kb|mb)$/i, 'a size such as 512kb or 1mb').default('512kb'),
  INFOSHARE_PLANS_CONSENT_CHECK: z.enum(['on', 'off']).default('on'),
});

export interface PlansConfig {
  /** Body limit of the plans service: a larger document is refused with 413, nothing stored. */
  readonly bodyLimit: string;
  /** The consent check on every read (false only in the benchmark's baseline). */
  readonly consentCheck: boolean;
}

export function loadPlansConfig(env: NodeJS.ProcessEnv = process.env): PlansConfig {
  const e = parseSettings(schema, env);
  return { bodyLimit: e.INFOSHARE_PLANS_BODY_LIMIT, consentCheck: e.INFOSHARE_PLANS_CONSENT_CHECK === 'on' };
}
