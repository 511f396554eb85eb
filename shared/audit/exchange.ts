/**
 * What a service knows about one exchange when it finishes. The audit client
 * turns it into a BALP-shaped FHIR AuditEvent (see `audit-event.ts`) and appends
 * it durably before the answer is given.
 *
 * An exchange is not always an HTTP request: a queued job, a scheduled task, an
 * outbound call to another system, or a change committed to Redis (written
 * through the outbox, `outbox.ts`) is recorded with the same shape. HTTP fields
 * are then absent, never invented; `trigger` says what happened instead, and
 * `requestId` is the request that started the work, so a job's record is found
 * with the request that queued it.
 */
import type { ServiceName } from '../config.js';

/** AuditEvent.outcome: 0 success, 4 minor failure (bad input, denied), 8 serious failure, 12 major failure. */
export type AuditOutcome = '0' | '4' | '8' | '12';

/** AuditEvent.action: Create, Read, Update, Delete, Execute. */
export type AuditAction = 'C' | 'R' | 'U' | 'D' | 'E';

/** Who acted, as far as it is known (nothing before authentication succeeds, except a claimed client id). */
export interface ExchangeAgent {
  readonly clientId?: string;
  readonly agency?: string;
  readonly partnership?: string;
  /** `PractitionerRole/<id>` when a practitioner acts. */
  readonly practitionerRole?: string;
  /** `Patient/<id>` when the person themselves acts. */
  readonly patient?: string;
}

export interface ExchangeEntity {
  /** A literal reference, e.g. `Patient/123`, `Task/9`, `Contract/isp-lothian`. */
  readonly reference: string;
  /** BALP entity role: the record the exchange is about, the query, the data that moved… */
  readonly role?: 'subject' | 'query' | 'data' | 'domain-resource' | 'consent';
  readonly description?: string;
  /** The access decision on this resource that the answer rested on (see `ExchangeRecord.patterns`). */
  readonly decision?: EntityDecision;
}

/** One access decision, recorded on the entity it was about. */
export interface EntityDecision {
  readonly permit: boolean;
  /** The basis of a permit (`consent`, `author`, `np-lp`, `break-glass`…) or the reason for a denial (`no-consent`, `outside-isp`…). */
  readonly basis: string;
  /** The Consent that decided (`Consent/<id>`), when one did. */
  readonly consent?: string;
}

/**
 * BALP patterns an exchange's own record carries as well, instead of records of their own
 * (one record per exchange: cheaper to build, append, hash and index):
 * - `AuthZ-Consent`: the answer rested on consent decisions (BALP AuthZconsent's content) —
 *   each decided resource is an entity with its `decision`, each deciding Consent an entity;
 * - `disclose`: data another agency wrote was disclosed to `recipientAgency` (ISO 21089
 *   `disclose`, BALP PrivacyDisclosure).
 */
export type ExchangePattern = 'AuthZ-Consent' | 'disclose';

export interface ExchangeRecord {
  readonly requestId: string;
  readonly service: ServiceName;
  /** AuditEvent.type: `rest` for FHIR interactions, or a DICOM/BALP event type code. */
  readonly type: 'rest' | 'login' | 'authz' | 'transmit' | 'disclosure';
  /** AuditEvent.subtype: a restful interaction (`create`, `read`, …) or an operation (`$match`, `token`). */
  readonly subtype: string;
  readonly action: AuditAction;
  readonly outcome: AuditOutcome;
  /** Human-readable result, e.g. the OperationOutcome text of a refusal. */
  readonly outcomeDescription?: string;
  /** HTTP status, method and path — only for an exchange that is an HTTP request to the hub. */
  readonly httpStatus?: number;
  readonly method?: string;
  readonly path?: string;
  /** What the exchange was when it was not an HTTP request to the hub. */
  readonly trigger?: ExchangeTrigger;
  readonly agent: ExchangeAgent;
  readonly sourceAddress?: string;
  /** The person the exchange is about (`Patient/…` or `Person/…`), when there is one. */
  readonly subject?: string;
  readonly entities: readonly ExchangeEntity[];
  readonly dataCategory?: string;
  readonly purpose?: string;
  /** Maturity criteria codes (`MI-L3`, …) this exchange demonstrates; empty for failures. */
  readonly criteria: readonly string[];
  /** Receiving agency for cross-agency sends (BALP PrivacyDisclosure recipient). */
  readonly recipientAgency?: string;
  /** What else this record stands for (see `ExchangePattern`). */
  readonly patterns?: readonly ExchangePattern[];
  readonly recorded?: string;
}

/** An exchange outside an HTTP request to the hub. */
export type ExchangeTrigger =
  /** One attempt of a queued job (BullMQ): which queue, which job, which attempt of how many. */
  | { readonly kind: 'job'; readonly queue: string; readonly jobId: string; readonly attempt: number; readonly maxAttempts: number }
  /** Work the hub starts on a timer (checkpoints, reviews, recovery at start-up). */
  | { readonly kind: 'schedule'; readonly name: string }
  /**
   * A call the hub makes to another system (an agency endpoint, another hub service). `sentAt`: when the hub
   * handed the request to its HTTP client (ISO instant, ms) — the record itself is written after the answer, so
   * its own time is not when the data left (an alert delivery's attempts are told apart by it).
   */
  | { readonly kind: 'outbound'; readonly method: string; readonly url: string; readonly status?: number; readonly sentAt?: string }
  /** A state change committed to Redis in the same transaction as this record (the audit outbox). */
  | { readonly kind: 'change'; readonly store: string }
  /** A decision an HTTP request's answer rested on (e.g. `consent`: BALP AuthZconsent), recorded with that request's own record. */
  | { readonly kind: 'decision'; readonly name: string };

/** Where exchanges go. Services receive one through their deps; tests use a real Redis one. */
export interface AuditSink {
  /** Resolves only after the record is durably stored; rejects if it could not be. */
  record(exchange: ExchangeRecord): Promise<string>;
  /** Several records in order, pipelined where the sink can (resolves once all are stored). */
  recordMany?(exchanges: readonly ExchangeRecord[]): Promise<string[]>;
}

/** A failure as one short line for an audit record's outcome description: never a stack trace. */
export function failureReason(err: unknown, options: { readonly withName?: boolean } = {}): string {
  const message = err instanceof Error ? (options.withName ? `${err.name}: ${err.message}` : err.message) : String(err);
  return message.split('\n')[0]!.slice(0, 300);
}
