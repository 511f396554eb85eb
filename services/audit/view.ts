/**
 * The audit service's read-only view: the ONE file of the audit service another service may
 * import. It answers "who accessed this person's record, and when" (the person's own view of
 * their record, PC-L5; the Named Person / Lead Professional's overview) from the audit
 * service's search indexes (`search-index.ts`), so it costs a few Redis round trips whatever
 * the size of the log. Nothing here writes. Contract: /work/notes/audit-view.md.
 *
 * It shows what the audit service has indexed (normally within a second of the exchange).
 */
import type { AuditEvent } from 'fhir/r4.js';
import type { Redis } from 'ioredis';
import type { KeySpace } from '../../shared/redis/connection.js';
import { MAX_COUNT } from '../../shared/store/search-plan.js';
import type { MpiView } from '../mpi/view.js';
import { subjectOfEvent, subtypeOfEvent } from './domain/access-summary.js';
import { SearchIndex } from './search-index.js';
import { SubjectResolver } from './subjects.js';

/** One logged exchange about a person. */
export interface PersonAccess {
  /** The AuditEvent id (= the audit stream entry id). */
  readonly id: string;
  readonly recorded: string;
  /** The acting agency (Organization id); absent before authentication. */
  readonly agency?: string;
  /** `PractitionerRole/<id>` when a practitioner acted. */
  readonly practitionerRole?: string;
  /** `Patient/<id>` when the person themself acted. */
  readonly patient?: string;
  /** The hub service that recorded it. */
  readonly service: string;
  readonly action: 'C' | 'R' | 'U' | 'D' | 'E';
  /** `read`, `search-type`, `$match`, `AuthZ-Consent`, … */
  readonly subtype: string;
  readonly outcome: '0' | '4' | '8' | '12';
  /** The subject as recorded: `Person/…` or `Patient/…`. */
  readonly subject: string;
  readonly purpose?: string;
}

export interface AccessesOptions {
  /** Default 50, at most 1000. */
  readonly limit?: number;
  readonly offset?: number;
  /** FHIR dates/instants bounding when the exchange was recorded (inclusive). */
  readonly since?: string;
  readonly until?: string;
}

export class AuditView {
  readonly #index: SearchIndex;
  readonly #subjects: SubjectResolver;

  constructor(redis: Redis, keys: KeySpace, mpi: MpiView) {
    this.#index = new SearchIndex(redis, keys);
    this.#subjects = new SubjectResolver(mpi);
  }

  /** Every exchange logged about the index Person (and its agency records), newest first, with the exact total. */
  async accessesTo(personId: string, options: AccessesOptions = {}): Promise<{ total: number; accesses: PersonAccess[] }> {
    const subjects = await this.#subjects.subjectsOfPerson(personId);
    const limit = Math.max(0, Math.min(options.limit ?? 50, MAX_COUNT));
    const from = options.since ? Date.parse(options.since) : -Infinity;
    const to = options.until ? Date.parse(options.until) : Infinity;
    const { total, ids } = await this.#index.search(
      {
        from: Number.isNaN(from) ? -Infinity : from,
        to: Number.isNaN(to) ? Infinity : to,
        filters: [],
        patients: [personId],
        count: limit,
        offset: Math.max(0, options.offset ?? 0),
        total: true,
        summaryCount: false,
      },
      subjects,
    );
    const events = await this.#index.events(ids);
    return { total: total ?? 0, accesses: events.map(accessOf) };
  }
}

/** The person-facing summary of one AuditEvent. */
export function accessOf(event: AuditEvent): PersonAccess {
  let agency: string | undefined;
  let practitionerRole: string | undefined;
  let patient: string | undefined;
  for (const agent of event.agent ?? []) {
    const ref = agent.who?.reference;
    if (!ref || !agent.requestor) continue;
    if (ref.startsWith('Organization/')) agency ??= ref.slice('Organization/'.length);
    else if (ref.startsWith('PractitionerRole/')) practitionerRole ??= ref;
    else if (ref.startsWith('Patient/')) patient ??= ref;
  }
  const subtype = subtypeOfEvent(event);
  const subject = subjectOfEvent(event);
  const purpose = event.purposeOfEvent?.[0]?.coding?.[0]?.code;
  return {
    id: event.id ?? '',
    recorded: event.recorded,
    ...(agency ? { agency } : {}),
    ...(practitionerRole ? { practitionerRole } : {}),
    ...(patient ? { patient } : {}),
    service: event.source.observer.identifier?.value ?? '',
    action: event.action ?? 'E',
    subtype,
    outcome: event.outcome ?? '0',
    subject,
    ...(purpose ? { purpose } : {}),
  };
}
