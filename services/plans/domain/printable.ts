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
  const facts: PrintableFact[] = [
    { label: 'Version', value: `${version} (latest)` },
    { label: 'Date of this version', value: plan.meta?.lastUpdated ?? 'unknown' },
    { label: 'Author', value: context.author },
    { label: 'Status', value: `${plan.status} / ${plan.intent}` },
    ...(plan.period?.start || plan.period?.end ? [{ label: 'Period', value: `${plan.period.start ?? '…'} to ${plan.period.end ?? '…'}` }] : []),
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

function periodText(period: { start?: string; end?: string } | undefined): string | undefined {
  if (!period?.start && !period?.end) return undefined;
  return `${period.start ?? '…'} to ${period.end ?? '…'}`;
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
