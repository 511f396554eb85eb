/**
 * The audit service's own settings, from the environment (the hub's are in
 * shared/config.ts), checked at start-up with the hub's.
 *
 *   INFOSHARE_AUDIT_CHECKPOINT_EVERY     sign a checkpoint once the log grew by this many entries   default 1000
 *   INFOSHARE_AUDIT_CHECKPOINT_SECONDS   …and at least this often while it grows (seconds)           default 10
 *   INFOSHARE_AUDIT_LOG_ORIGIN           the log's name on its checkpoints (and the signing key's    default fhir.infoshare.scot/<partnership>/audit-log
 *                                        name in the signed note); one per partnership's log
 *   INFOSHARE_AUDIT_BATCH_SIZE           audit stream entries read and appended per Redis write       default 1000
 *   INFOSHARE_AUDIT_PERFORMANCE_SECONDS  how often the performance summary is taken (seconds)         default 60
 *
 * A checkpoint is signed only when the tree grew since the last one: a quiet
 * log keeps its last checkpoint rather than piling up identical ones.
 */
import { z } from 'zod';
import { parseSettings } from '../../shared/config.js';

const schema = z.object({
  INFOSHARE_AUDIT_CHECKPOINT_EVERY: z.coerce.number().int().min(1).max(10_000_000).default(1000),
  INFOSHARE_AUDIT_CHECKPOINT_SECONDS: z.coerce.number().min(0.05).max(86_400).default(10),
  INFOSHARE_AUDIT_LOG_ORIGIN: z
    .string()
    .regex(/^[^\s+]+$/, 'a schema-less URL with no spaces or plus signs, e.g. fhir.example.org/partnership/audit-log')
    .optional(),
  INFOSHARE_AUDIT_BATCH_SIZE: z.coerce.number().int().min(1).max(10_000).default(1000),
  INFOSHARE_AUDIT_PERFORMANCE_SECONDS: z.coerce.number().min(1).max(86_400).default(60),
});

export interface AuditConfig {
  /** A checkpoint is signed once this many entries were appended since the last. */
  readonly checkpointEvery: number;
  /** …and, while the log grows, at least this often (ms). */
  readonly checkpointIntervalMs: number;
  /** The log's origin line; undefined: derived from the partnership (`logOrigin`). */
  readonly origin: string | undefined;
  /** Stream entries read (XREADGROUP COUNT) and appended in one script call. */
  readonly batchSize: number;
  /** How often the performance summary is taken (ms). */
  readonly performanceIntervalMs: number;
}

export function loadAuditConfig(env: NodeJS.ProcessEnv = process.env): AuditConfig {
  const e = parseSettings(schema, env);
  return {
    checkpointEvery: e.INFOSHARE_AUDIT_CHECKPOINT_EVERY,
    checkpointIntervalMs: Math.round(e.INFOSHARE_AUDIT_CHECKPOINT_SECONDS * 1000),
    origin: e.INFOSHARE_AUDIT_LOG_ORIGIN,
    batchSize: e.INFOSHARE_AUDIT_BATCH_SIZE,
    performanceIntervalMs: Math.round(e.INFOSHARE_AUDIT_PERFORMANCE_SECONDS * 1000),
  };
}

/** The log's origin: the configured one, or one naming the partnership (each partnership's hub keeps its own log). */
export function logOrigin(config: AuditConfig, partnershipId: string): string {
  return config.origin ?? `fhir.infoshare.scot/${partnershipId}/audit-log`;
}
