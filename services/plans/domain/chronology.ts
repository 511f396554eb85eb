/**
 * The integrated chronology of one person (`$chronology`): one dated timeline
 * across agencies — every version of their plans, every assessment, every
 * change of a request for assistance, alerts raised and closed, and notable
 * events an agency recorded (an `Observation`, dated when it happened) — each
 * entry naming the agency it came from. Built from what the caller may see (the
 * plans service filters first); pure.
 *
 * Shape: a FHIR `List` (mode `snapshot`, oldest entry first). Each
 * `List.entry` has `date` (when it happened), `item` (a versioned reference to
 * what happened — `CarePlan/<id>/_history/<v>`, or the alert's `Flag` at the
 * alerts service — with a one-line `display`), `flag` (the event kind,
 * `CodeSystems.chronologyEvent`), and the `source-agency` extension
 * (`Organization/<id>`).
 */
import type { CarePlan, Extension, List, ListEntry, Observation, QuestionnaireResponse, Reference, ServiceRequest } from 'fhir/r4.js';
import { CodeSystems, Extensions } from '../../../shared/fhir/systems.js';
import { performerAgencyOf } from './service-request.js';
import { readableInstant } from '../../../shared/fhir/leap-second.js';

export const CHRONOLOGY_CATEGORIES = ['plan', 'assessment', 'service-request', 'alert', 'notable-event'] as const;
export type ChronologyCategory = (typeof CHRONOLOGY_CATEGORIES)[number];

export type ChronologyEventKind = 'plan-version' | 'assessment' | 'service-request' | 'alert-raised' | 'alert-closed' | 'notable-event';

export interface ChronologyEvent {
  /** When it happened (ISO date-time). */
  readonly date: string;
  readonly kind: ChronologyEventKind;
  readonly category: ChronologyCategory;
  /** The agency it came from (Organization id). */
  readonly agency: string;
  /** What happened, as a reference a reader can follow. */
  readonly reference: string;
  readonly summary: string;
}

export interface ChronologyFilter {
  /** Only events on or after this date (YYYY-MM-DD or a date-time). */
  readonly start?: string;
  /** Only events on or before this date (a bare date includes the whole day). */
  readonly end?: string;
  /** Only these categories (all when absent). */
  readonly categories?: ReadonlySet<ChronologyCategory>;
}

/** The events that pass the filter, oldest first (ties in a stable order). */
export function filterEvents(events: readonly ChronologyEvent[], filter: ChronologyFilter): ChronologyEvent[] {
  const start = filter.start ? boundOf(filter.start, 'start') : undefined;
  const end = filter.end ? boundOf(filter.end, 'end') : undefined;
  return events
    .filter((e) => {
      const t = Date.parse(readableInstant(e.date));
      if (start !== undefined && t < start) return false;
      if (end !== undefined && t > end) return false;
      return !filter.categories || filter.categories.has(e.category);
    })
    .sort((a, b) => Date.parse(readableInstant(a.date)) - Date.parse(readableInstant(b.date)) || a.reference.localeCompare(b.reference));
}

/** A filter date as epoch ms: a bare date's start (for `start`) or end (for `end`) of the day, UTC. */
export function boundOf(text: string, side: 'start' | 'end'): number | undefined {
  if (/^\d{4}-\d{2}-\d{2}$/.test(text)) {
    const day = Date.parse(`${text}T00:00:00Z`);
    if (Number.isNaN(day) || new Date(day).toISOString().slice(0, 10) !== text) return undefined;
    return side === 'start' ? day : day + 86_400_000 - 1;
  }
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/.test(text)) return undefined;
  const t = Date.parse(readableInstant(text));
  return Number.isNaN(t) ? undefined : t;
}

type Versioned = CarePlan | QuestionnaireResponse | ServiceRequest | Observation;

/**
 * The events of one resource's versions (newest first or any order): a plan or
 * assessment per version; a request for assistance per version, saying the
 * status it moved to; a notable event once, as its latest version tells it, on
 * the date it happened (a later version corrects the record of one event, it is
 * not another event). `agencyOfVersion` names the agency that wrote a version.
 */
export function eventsOfVersions(versions: readonly Versioned[], agencyOfVersion: (v: Versioned) => string): ChronologyEvent[] {
  const ordered = [...versions].sort((a, b) => Number(a.meta?.versionId ?? 0) - Number(b.meta?.versionId ?? 0));
  const latest = ordered[ordered.length - 1];
  if (latest?.resourceType === 'Observation') return latest.status === 'entered-in-error' ? [] : [notableEvent(latest, agencyOfVersion(ordered[0]!))];
  return ordered.flatMap((v, i): ChronologyEvent[] => {
    const previous = i > 0 ? ordered[i - 1] : undefined;
    const version = v.meta?.versionId ?? '?';
    const base = { date: v.meta?.lastUpdated ?? '', agency: agencyOfVersion(v), reference: `${v.resourceType}/${v.id}/_history/${version}` };
    switch (v.resourceType) {
      case 'CarePlan':
        return [{ ...base, kind: 'plan-version', category: 'plan', summary: `${v.title ?? 'Plan'} — version ${version} (${v.status})` }];
      case 'QuestionnaireResponse':
        return [{ ...base, kind: 'assessment', category: 'assessment', summary: `${assessmentName(v)} — version ${version} (${v.status})` }];
      case 'ServiceRequest': {
        const to = performerAgencyOf(v) ?? 'an agency';
        const what = v.code?.text ?? v.code?.coding?.[0]?.display ?? 'Request for assistance';
        const move = previous && previous.resourceType === 'ServiceRequest' && previous.status !== v.status ? `${previous.status} → ${v.status}` : v.status;
        return [{ ...base, kind: 'service-request', category: 'service-request', summary: `${what} to ${to}: ${move} (version ${version})` }];
      }
      case 'Observation':
        return [];
    }
  });
}

/** When a notable event happened (`effectiveDateTime`, `effectiveInstant` or the start of `effectivePeriod`), or undefined when it does not say. */
export function whenItHappened(event: Observation): string | undefined {
  return event.effectiveDateTime ?? event.effectiveInstant ?? event.effectivePeriod?.start;
}

/** A notable event, dated when it happened, from the agency that recorded it (an event recorded in error is left out by the caller). */
function notableEvent(event: Observation, agency: string): ChronologyEvent {
  const what = event.code.text ?? event.code.coding?.[0]?.display ?? event.code.coding?.[0]?.code ?? 'Notable event';
  const detail = event.valueString ?? event.note?.[0]?.text;
  return {
    date: whenItHappened(event) ?? event.meta?.lastUpdated ?? '',
    kind: 'notable-event',
    category: 'notable-event',
    agency,
    reference: `Observation/${event.id}/_history/${event.meta?.versionId ?? '?'}`,
    summary: `${what}${detail ? `: ${detail}` : ''}`,
  };
}

function assessmentName(response: QuestionnaireResponse): string {
  const questionnaire = response.questionnaire?.split('/').pop();
  return questionnaire ? `Assessment ${questionnaire}` : 'Assessment';
}

/** The chronology as a FHIR List (shape in the file comment). */
export function chronologyList(subject: Reference, events: readonly ChronologyEvent[], now: Date): List {
  return {
    resourceType: 'List',
    status: 'current',
    mode: 'snapshot',
    title: 'Integrated chronology',
    code: { coding: [{ system: CodeSystems.chronologyEvent, code: 'chronology', display: 'Integrated chronology' }] },
    subject,
    date: now.toISOString(),
    orderedBy: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/list-order', code: 'event-date', display: 'Sorted by Event Date' }] },
    // Empty: the reason, and no `entry` (FHIR JSON has no empty arrays).
    ...(events.length === 0 ? { emptyReason: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/list-empty-reason', code: 'nilknown' }] } } : { entry: events.map(entryOf) }),
  };
}

function entryOf(event: ChronologyEvent): ListEntry {
  const source: Extension = { url: Extensions.sourceAgency, valueReference: { reference: `Organization/${event.agency}` } };
  return {
    extension: [source],
    flag: { coding: [{ system: CodeSystems.chronologyEvent, code: event.kind }] },
    date: event.date,
    item: { reference: event.reference, display: event.summary },
  };
}

/** The agencies a chronology's entries came from (an integrated chronology has more than one). */
export function agenciesOf(events: readonly ChronologyEvent[]): string[] {
  return [...new Set(events.map((e) => e.agency))].sort();
}
