/**
 * The maturity evidence report, computed from what the log holds. Pure: the caller gathers,
 * per criterion, the exchanges that count as its evidence (`evidence-rule.ts`) — count, first
 * and last dates, sample exchanges with their inclusion proofs — and the documentary evidence
 * auditors attached; this module grades every cell of the Annex B grid and every area.
 *
 * Cell status (one criterion per area and level):
 *   demonstrated      exchanges evidence it, and the area's level rule counts this level
 *                     (`levelDemonstrated`, DESIGN.md §2: every exchange-provable criterion of
 *                     this level and below has evidence)
 *   partly            exchanges evidence it, but a criterion below it lacks evidence, so the
 *                     level does not count yet (`lacking` names them)
 *   not yet           no exchange evidences it
 *   documentary evidence needed   no exchange can show it and no document is attached
 *   documented        no exchange can show it; an auditor attached documentary evidence
 *                     (an auditor's judgement, shown apart from what the log proves)
 *
 * The report names the checkpoint it was computed at (origin, tree size, root hash): its
 * counts are of the first `size` entries of the log, so anyone holding the log up to that
 * checkpoint can recompute them with `recomputeEvidence`.
 */
import {
  CATALOGUE,
  DOCUMENTARY_EVIDENCE_NEEDED,
  criteriaOfArea,
  isCriterionCode,
  type AreaCode,
  type CriterionCode,
  type EvidenceKind,
  type MaturityLevel,
} from '../../../shared/maturity/catalogue.js';
import { levelDemonstrated } from '../../../shared/maturity/levels.js';
import { countsAsEvidence } from './evidence-rule.js';

export const CELL_STATUSES = ['demonstrated', 'partly', 'not yet', DOCUMENTARY_EVIDENCE_NEEDED, 'documented'] as const;
export type CellStatus = (typeof CELL_STATUSES)[number];

/** An RFC 9162 inclusion proof of one entry in the tree of the report's checkpoint. */
export interface InclusionProof {
  readonly leafIndex: number;
  readonly treeSize: number;
  /** Audit path, base64 (or hex, as the log gives it), leaf side first. */
  readonly hashes: readonly string[];
}

export interface SampleExchange {
  /** AuditEvent id (= audit stream entry id). */
  readonly id: string;
  readonly recorded: string;
  readonly proof?: InclusionProof;
}

/** What the log holds for one criterion (only exchanges that count as its evidence). */
export interface CriterionEvidence {
  readonly count: number;
  readonly first?: string;
  readonly last?: string;
  readonly samples: readonly SampleExchange[];
}

/** Documentary evidence an auditor attached to a cell (a FHIR DocumentReference in the log). */
export interface DocumentaryEvidence {
  readonly id: string;
  readonly criterion: CriterionCode;
  readonly title: string;
  /** When the document was issued or attested (FHIR date). */
  readonly date: string;
  /** Who attested it (name / role / organisation, as the auditor gave it). */
  readonly attestedBy: string;
  readonly url?: string;
}

export interface CheckpointRef {
  readonly origin: string;
  readonly size: number;
  readonly rootHash: string;
  /** The signed note (C2SP tlog-checkpoint), as the log published it. */
  readonly note?: string;
}

export interface ReportScope {
  readonly since?: string;
  readonly until?: string;
  readonly partnership?: string;
}

export interface ReportInput {
  readonly generatedAt: string;
  readonly checkpoint?: CheckpointRef;
  readonly scope: ReportScope;
  /** Entries of the log in scope (all outcomes). */
  readonly exchanges: number;
  readonly evidence: ReadonlyMap<CriterionCode, CriterionEvidence>;
  readonly documents: readonly DocumentaryEvidence[];
}

export interface CellReport {
  readonly code: CriterionCode;
  readonly area: AreaCode;
  readonly level: MaturityLevel;
  readonly kind: EvidenceKind;
  readonly status: CellStatus;
  readonly text: string;
  readonly hubEvidence: string | null;
  readonly count: number;
  readonly first?: string;
  readonly last?: string;
  readonly samples: readonly SampleExchange[];
  readonly documents: readonly DocumentaryEvidence[];
  /** Exchange-provable criteria of this level and below without evidence (what stops this level counting). */
  readonly lacking: readonly CriterionCode[];
}

export interface AreaReport {
  readonly code: AreaCode;
  readonly title: string;
  /** The highest level exchanges demonstrate (DESIGN.md §2), null for none, or the documentary label (GV, TR). */
  readonly highestLevel: MaturityLevel | null | typeof DOCUMENTARY_EVIDENCE_NEEDED;
  readonly cells: readonly CellReport[];
}

export interface EvidenceReport {
  readonly title: string;
  readonly source: string;
  readonly generatedAt: string;
  readonly checkpoint?: CheckpointRef;
  readonly scope: ReportScope;
  readonly exchanges: number;
  readonly rule: string;
  readonly areas: readonly AreaReport[];
}

export const LEVEL_RULE =
  'A level counts as demonstrated when every criterion of that level and of the levels below it that exchanges can show has evidence ' +
  '(a successful exchange claiming it). Failed or refused exchanges never count, except that a correct refusal is evidence for PD-L5 and SI-L3. ' +
  'Governance, training and the other documentary cells are judged from documents auditors attach.';

const NONE: CriterionEvidence = { count: 0, samples: [] };

export function buildEvidenceReport(input: ReportInput): EvidenceReport {
  const evidenced = new Set<CriterionCode>([...input.evidence].filter(([, e]) => e.count > 0).map(([code]) => code));
  const documentsOf = new Map<CriterionCode, DocumentaryEvidence[]>();
  for (const d of input.documents) documentsOf.set(d.criterion, [...(documentsOf.get(d.criterion) ?? []), d]);

  const areas = CATALOGUE.areas.map((area): AreaReport => {
    const highestLevel = levelDemonstrated(area.code, evidenced);
    const criteria = criteriaOfArea(area.code);
    const cells = criteria.map((c): CellReport => {
      const ev = input.evidence.get(c.code) ?? NONE;
      const documents = documentsOf.get(c.code) ?? [];
      const lacking = criteria.filter((b) => b.level <= c.level && b.evidence === 'exchange' && !evidenced.has(b.code)).map((b) => b.code);
      return {
        code: c.code,
        area: c.area,
        level: c.level,
        kind: c.evidence,
        status: statusOf(c.evidence, ev.count, c.level, highestLevel, documents.length),
        text: c.text,
        hubEvidence: c.hubEvidence,
        count: ev.count,
        ...(ev.first ? { first: ev.first } : {}),
        ...(ev.last ? { last: ev.last } : {}),
        samples: ev.samples,
        documents,
        lacking,
      };
    });
    return { code: area.code, title: area.title, highestLevel, cells };
  });
  return {
    title: 'Maturity evidence report',
    source: CATALOGUE.source,
    generatedAt: input.generatedAt,
    ...(input.checkpoint ? { checkpoint: input.checkpoint } : {}),
    scope: input.scope,
    exchanges: input.exchanges,
    rule: LEVEL_RULE,
    areas,
  };
}

function statusOf(
  kind: EvidenceKind,
  count: number,
  level: MaturityLevel,
  highest: MaturityLevel | null | typeof DOCUMENTARY_EVIDENCE_NEEDED,
  documents: number,
): CellStatus {
  if (kind === 'documentary') return documents > 0 ? 'documented' : DOCUMENTARY_EVIDENCE_NEEDED;
  if (count === 0) return 'not yet';
  return typeof highest === 'number' && level <= highest ? 'demonstrated' : 'partly';
}

/** Every cell of the report in catalogue order (area by area, level 1 first). */
export function cellsOf(report: EvidenceReport): CellReport[] {
  return report.areas.flatMap((a) => a.cells);
}

/** One log entry as `recomputeEvidence` reads it: the audit stream's flat fields. */
export interface LoggedEntry {
  readonly id: string;
  readonly recorded: string;
  readonly outcome: string;
  /** Comma-separated criteria codes, as the stream stores them. */
  readonly criteria: string;
}

/**
 * Counts, first and last dates per criterion straight from log entries (in log order):
 * what anyone holding the log up to the report's checkpoint computes to check the report.
 */
export function recomputeEvidence(entries: Iterable<LoggedEntry>, scope: { from?: number; to?: number } = {}): Map<CriterionCode, CriterionEvidence> {
  const out = new Map<CriterionCode, { count: number; first?: string; last?: string; firstAt: number; lastAt: number }>();
  for (const e of entries) {
    const at = Date.parse(e.recorded);
    if ((scope.from !== undefined && at < scope.from) || (scope.to !== undefined && at > scope.to)) continue;
    for (const code of e.criteria ? e.criteria.split(',') : []) {
      if (!isCriterionCode(code) || !countsAsEvidence(code, e.outcome)) continue;
      const cur = out.get(code) ?? { count: 0, firstAt: Infinity, lastAt: -Infinity };
      cur.count++;
      if (at < cur.firstAt) {
        cur.firstAt = at;
        cur.first = e.recorded;
      }
      if (at >= cur.lastAt) {
        cur.lastAt = at;
        cur.last = e.recorded;
      }
      out.set(code, cur);
    }
  }
  return new Map(
    [...out].map(([code, v]) => [code, { count: v.count, ...(v.first ? { first: v.first } : {}), ...(v.last ? { last: v.last } : {}), samples: [] }]),
  );
}

