/**
 * The maturity evidence report in the formats an auditor takes away: CSV (one row per cell),
 * a FHIR Bundle (a Composition summarising every area, the cited AuditEvents and the attached
 * DocumentReferences), and a printable document (HTML / PDF through `shared/render/`). Pure.
 */
import type { AuditEvent, Bundle, BundleEntry, Composition, CompositionSection, DocumentReference, FhirResource } from 'fhir/r4.js';
import { CodeSystems, IdentifierSystems } from '../../../shared/fhir/systems.js';
import { CATALOGUE, DOCUMENTARY_EVIDENCE_NEEDED } from '../../../shared/maturity/catalogue.js';
import type { PrintableDocument, PrintableSection } from '../../../shared/render/document.js';
import { cellsOf, type AreaReport, type CellReport, type DocumentaryEvidence, type EvidenceReport } from './evidence-report.js';

export const EVIDENCE_FORMATS = ['json', 'csv', 'fhir', 'html', 'pdf'] as const;
export type EvidenceFormat = (typeof EVIDENCE_FORMATS)[number];

export function isEvidenceFormat(value: string): value is EvidenceFormat {
  return (EVIDENCE_FORMATS as readonly string[]).includes(value);
}

/** What a cell's status reads as, in words (never colour alone). */
export function statusLabel(cell: Pick<CellReport, 'status'>): string {
  return cell.status === 'documented' ? 'documentary evidence attached' : cell.status;
}

export function highestLevelLabel(area: Pick<AreaReport, 'highestLevel'>): string {
  if (area.highestLevel === null) return 'none demonstrated';
  if (area.highestLevel === DOCUMENTARY_EVIDENCE_NEEDED) return DOCUMENTARY_EVIDENCE_NEEDED;
  return `level ${area.highestLevel} (${CATALOGUE.levels[area.highestLevel - 1]?.name ?? ''})`;
}

export function checkpointLabel(report: EvidenceReport): string {
  const c = report.checkpoint;
  return c ? `${c.origin}, tree size ${c.size}, root ${c.rootHash}` : 'no checkpoint yet (counts are of the log as indexed)';
}

export function scopeLabel(report: EvidenceReport): string {
  const { since, until, partnership } = report.scope;
  const parts = [since ? `from ${since}` : '', until ? `until ${until}` : '', partnership ? `partnership ${partnership}` : ''].filter(Boolean);
  return parts.length ? parts.join(', ') : 'the whole log';
}

// ------------------------------------------------------------------- CSV

const CSV_COLUMNS = [
  'area',
  'area_title',
  'area_highest_level',
  'level',
  'criterion',
  'kind',
  'status',
  'exchanges',
  'first',
  'last',
  'sample_exchange_ids',
  'lacking_evidence',
  'documents',
  'checkpoint_origin',
  'checkpoint_size',
  'checkpoint_root',
] as const;

export function reportCsv(report: EvidenceReport): string {
  const rows = report.areas.flatMap((area) =>
    area.cells.map((cell) => [
      area.code,
      area.title,
      highestLevelLabel(area),
      String(cell.level),
      cell.code,
      cell.kind,
      statusLabel(cell),
      String(cell.count),
      cell.first ?? '',
      cell.last ?? '',
      cell.samples.map((s) => s.id).join(' '),
      cell.lacking.join(' '),
      cell.documents.map((d) => `${d.title} (${d.date}, attested by ${d.attestedBy})`).join('; '),
      report.checkpoint?.origin ?? '',
      report.checkpoint ? String(report.checkpoint.size) : '',
      report.checkpoint?.rootHash ?? '',
    ]),
  );
  return [[...CSV_COLUMNS], ...rows].map((r) => r.map(csvField).join(',')).join('\r\n') + '\r\n';
}

/** RFC 4180 quoting; a leading = + - @ is defused so a spreadsheet never runs a cell as a formula. */
export function csvField(value: string): string {
  const safe = /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
  return /[",\r\n]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}

// ------------------------------------------------------------------- FHIR

/**
 * A `collection` Bundle: first a Composition (one section per area, its text the area's
 * grading, its entries the AuditEvents cited as samples), then those AuditEvents and the
 * attached DocumentReferences, so the Bundle stands alone.
 */
export function reportBundle(
  report: EvidenceReport,
  cited: readonly AuditEvent[],
  documents: readonly DocumentReference[],
  baseUrl: string,
): Bundle {
  const composition: Composition = {
    resourceType: 'Composition',
    id: 'maturity-evidence',
    status: 'final',
    type: { text: 'Maturity evidence report' },
    date: report.generatedAt,
    title: `${report.title}: ${scopeLabel(report)}`,
    author: [{ identifier: { system: IdentifierSystems.hubService, value: 'audit' }, display: 'infoshare audit' }],
    ...(report.checkpoint
      ? { attester: [{ mode: 'official', time: report.generatedAt, party: { display: `checkpoint ${checkpointLabel(report)}` } }] }
      : {}),
    section: report.areas.map((area): CompositionSection => ({
      title: `${area.code} ${area.title}`,
      code: { coding: [{ system: CodeSystems.maturityCriterion, code: area.code }] },
      text: { status: 'generated', div: narrative(area) },
      entry: area.cells.flatMap((c) => c.samples.map((s) => ({ reference: `AuditEvent/${s.id}` }))),
    })),
  };
  const entry = (resource: FhirResource): BundleEntry => ({ fullUrl: `${baseUrl}/${resource.resourceType}/${resource.id}`, resource });
  return {
    resourceType: 'Bundle',
    type: 'collection',
    timestamp: report.generatedAt,
    entry: [entry(composition), ...cited.map(entry), ...documents.map(entry)],
  };
}

function narrative(area: AreaReport): string {
  const items = area.cells
    .map((c) => `<li>${escapeXml(c.code)}: ${escapeXml(statusLabel(c))}, ${c.count} exchange(s)${c.lacking.length ? `; lacking ${escapeXml(c.lacking.join(', '))}` : ''}</li>`)
    .join('');
  return `<div xmlns="http://www.w3.org/1999/xhtml"><p>Highest level demonstrated: ${escapeXml(highestLevelLabel(area))}</p><ul>${items}</ul></div>`;
}

function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

// ------------------------------------------------------------------- printable (HTML, PDF)

export function reportDocument(report: EvidenceReport): PrintableDocument {
  const summary: PrintableSection = {
    heading: 'Highest level demonstrated per area',
    paragraphs: [report.rule],
    table: { columns: ['Area', 'Highest level', 'Cells'], rows: report.areas.map((a) => [`${a.code} ${a.title}`, highestLevelLabel(a), cellSummary(a)]) },
  };
  const areaSections = report.areas.map(
    (area): PrintableSection => ({
      heading: `${area.code} — ${area.title}: ${highestLevelLabel(area)}`,
      table: {
        columns: ['Level', 'Status', 'Exchanges', 'First / last', 'Samples (AuditEvent ids)', 'Lacking / documents'],
        rows: area.cells.map((c) => [
          `${c.level} ${c.code}`,
          statusLabel(c),
          String(c.count),
          c.first ? `${c.first} / ${c.last ?? ''}` : '',
          c.samples.map((s) => `${s.id}${s.proof ? ` (leaf ${s.proof.leafIndex} of ${s.proof.treeSize})` : ''}`).join(', '),
          [c.lacking.length ? `lacking: ${c.lacking.join(', ')}` : '', ...c.documents.map(documentLine)].filter(Boolean).join('; '),
        ]),
      },
    }),
  );
  const criteria: PrintableSection = {
    heading: 'Criteria (Annex B text)',
    table: { columns: ['Criterion', 'Annex B', 'What shows it in the hub'], rows: cellsOf(report).map((c) => [c.code, c.text, c.hubEvidence ?? DOCUMENTARY_EVIDENCE_NEEDED]) },
  };
  return {
    title: report.title,
    subtitle: report.source,
    facts: [
      { label: 'Generated', value: report.generatedAt },
      { label: 'Computed at checkpoint', value: checkpointLabel(report) },
      { label: 'Scope', value: scopeLabel(report) },
      { label: 'Exchanges in scope', value: String(report.exchanges) },
    ],
    sections: [summary, ...areaSections, criteria],
    footer: `Recompute from the log up to the checkpoint named above; verify it with infoshare audit verify`,
  };
}

function cellSummary(area: AreaReport): string {
  return area.cells.map((c) => `L${c.level} ${statusLabel(c)}`).join('; ');
}

function documentLine(d: DocumentaryEvidence): string {
  return `document: ${d.title} (${d.date}, attested by ${d.attestedBy})`;
}
