/**
 * The printable documents of the plans service, as data for shared/render:
 * the latest version of a plan (which version, when, by whom, whom to call —
 * the Named Person / Lead Professional) and a person's chronology. Pure.
 */
import type { CarePlan, List } from 'fhir/r4.js';
import type { PrintableDocument, PrintableFact, PrintableSection } from '../../../shared/render/document.js';
import { Extensions } from '../../../shared/fhir/systems.js';

/** A Named Person or Lead Professional as printed on a plan. */
export interface NpLpContact {
  /** "Named Person" or "Lead Professional". */
  readonly role: string;
  readonly name: string;
  readonly organisation?: string;
  /** Phone numbers and e-mail addresses, best first. */
  readonly contact: readonly string[];
}

export interface PlanPrintContext {
  /** The agency that wrote the printed version (its name where the directory has it). */
  readonly author: string;
  readonly contacts: readonly NpLpContact[];
  readonly printedAt: Date;
}

export function planDocument(plan: CarePlan, context: PlanPrintContext): PrintableDocument {
  const version = plan.meta?.versionId ?? '?';
  const period = periodText(plan.period);
  const facts: PrintableFact[] = [
    { label: 'Version', value: `${version} (latest)` },
    { label: 'Date of this version', value: plan.meta?.lastUpdated ?? 'unknown' },
    { label: 'Author', value: context.author },
    { label: 'Status', value: `${plan.status} / ${plan.intent}` },
    ...(period ? [{ label: 'Period', value: period }] : []),
    ...(plan.subject.display ? [{ label: 'About', value: plan.subject.display }] : []),
  ];
  const contactFacts: PrintableFact[] =
    context.contacts.length > 0
      ? context.contacts.map((c) => ({ label: c.role, value: [c.name, c.organisation, ...c.contact].filter(Boolean).join(' — ') }))
      : [{ label: 'Named Person / Lead Professional', value: 'none recorded in the directory' }];
  const sections: PrintableSection[] = [
    { heading: 'Named Person / Lead Professional', facts: contactFacts },
    ...(plan.description ? [{ heading: 'Summary', paragraphs: [plan.description] }] : []),
    ...(plan.goal?.length ? [{ heading: 'Goals', paragraphs: plan.goal.map((g) => g.display ?? g.reference ?? '') }] : []),
    ...(plan.activity?.length
      ? [
          {
            heading: 'Activities',
            table: {
              columns: ['Activity', 'Status', 'When', 'Who'],
              rows: plan.activity.map((a) => [
                a.detail?.description ?? a.detail?.code?.text ?? a.reference?.display ?? a.reference?.reference ?? '',
                a.detail?.status ?? '',
                a.detail?.scheduledString ?? periodText(a.detail?.scheduledPeriod) ?? '',
                (a.detail?.performer ?? []).map((p) => p.display ?? p.reference ?? '').join(', '),
              ]),
            },
          },
        ]
      : []),
    ...(plan.note?.length ? [{ heading: 'Notes', paragraphs: plan.note.map((n) => n.text) }] : []),
  ];
  return {
    title: plan.title ?? 'Plan',
    subtitle: `CarePlan/${plan.id} — version ${version}`,
    facts,
    sections,
    footer: `Printed ${context.printedAt.toISOString()} from the shared record: check it for a later version`,
  };
}

const MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];

/**
 * A FHIR Period as a person reads it: "3 March 2026 to 30 June 2026", "from 3 March 2026, open-ended" (no end: R4 reads
 * that as ongoing), "until 30 June 2026 (start not recorded)"; undefined when it has neither.
 */
export function periodText(period: { start?: string; end?: string } | undefined): string | undefined {
  const start = period?.start ? readableDateTime(period.start) : undefined;
  const end = period?.end ? readableDateTime(period.end) : undefined;
  if (start && end) return `${start} to ${end}`;
  if (start) return `from ${start}, open-ended`;
  if (end) return `until ${end} (start not recorded)`;
  return undefined;
}

/**
 * A FHIR date or dateTime as a person reads it, at the precision it was given: "2026", "March 2026", "3 March 2026",
 * "3 March 2026, 09:30 UTC" / "3 March 2026, 09:30 (+01:00)" — the time as written, not moved to another zone.
 * Anything else is printed as it came (validation refuses it before it is stored).
 */
export function readableDateTime(value: string): string {
  const m = /^(\d{4})(?:-(\d{2})(?:-(\d{2})(?:T(\d{2}):(\d{2})(?::\d{2}(?:\.\d+)?)?(Z|[+-]\d{2}:\d{2}))?)?)?$/.exec(value);
  const month = m?.[2] ? MONTHS[Number(m[2]) - 1] : undefined;
  if (!m || (m[2] && !month)) return value;
  const date = [m[3] ? String(Number(m[3])) : undefined, month, m[1]].filter(Boolean).join(' ');
  if (!m[4]) return date;
  return `${date}, ${m[4]}:${m[5]} ${m[6] === 'Z' || m[6] === '+00:00' ? 'UTC' : `(${m[6]})`}`;
}

/** The subtitle of a printed chronology: who it is about, as the caller named them. */
export function printableAbout(subject: string): string {
  return `About ${subject}`;
}

/** A chronology (chronology.ts's List) as a printable table. */
export function chronologyDocument(list: List, about: string, printedAt: Date): PrintableDocument {
  const rows = (list.entry ?? []).map((e) => [
    e.date ?? '',
    e.flag?.coding?.[0]?.code ?? '',
    e.extension?.find((x) => x.url === Extensions.sourceAgency)?.valueReference?.reference?.replace(/^Organization\//, '') ?? '',
    e.item.display ?? e.item.reference ?? '',
  ]);
  return {
    title: 'Integrated chronology',
    subtitle: about,
    facts: [
      { label: 'Entries', value: String(rows.length) },
      { label: 'Produced', value: printedAt.toISOString() },
    ],
    sections: [rows.length > 0 ? { heading: 'Timeline', table: { columns: ['Date', 'Event', 'Agency', 'What'], rows } } : { heading: 'Timeline', paragraphs: ['Nothing recorded that you may see.'] }],
    footer: `Integrated chronology printed ${printedAt.toISOString()}`,
  };
}
