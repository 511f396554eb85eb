/** One logged exchange as the auditor's log lists it. Pure. */
import type { AuditEvent } from 'fhir/r4.js';
import { criteriaOfEvent } from '../../../shared/audit/audit-event.js';
import { CodeSystems } from '../../../shared/fhir/systems.js';

export interface AccessSummary {
  readonly id: string;
  readonly recorded: string;
  readonly service: string;
  /** Who acted: agency, and the practitioner role or patient when a person acted. */
  readonly agent: string;
  readonly subtype: string;
  readonly outcome: string;
  readonly subject: string;
  readonly criteria: readonly string[];
}

export function accessSummaryOf(event: AuditEvent): AccessSummary {
  const actors = (event.agent ?? []).filter((a) => a.requestor && a.who?.reference).map((a) => a.who!.reference!);
  return {
    id: event.id ?? '',
    recorded: event.recorded,
    service: event.source.observer.identifier?.value ?? '',
    agent: actors.join(' ') || '—',
    subtype: subtypeOfEvent(event),
    outcome: event.outcome ?? '',
    subject: subjectOfEvent(event),
    criteria: criteriaOfEvent(event),
  };
}

/** The exchange's own name: the hub operation, else the restful interaction, else the event type. */
export function subtypeOfEvent(event: AuditEvent): string {
  return (
    event.subtype?.find((s) => s.system === CodeSystems.hubOperation)?.code ??
    event.subtype?.find((s) => s.system !== CodeSystems.iso21089Lifecycle)?.code ??
    event.subtype?.[0]?.code ??
    event.type.code ??
    ''
  );
}

/** The person the exchange is about (the entity in the Patient role), or ''. */
export function subjectOfEvent(event: AuditEvent): string {
  return event.entity?.find((e) => e.role?.code === '1' && e.what?.reference)?.what?.reference ?? '';
}
