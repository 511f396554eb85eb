/**
 * Builds the maturity evidence report from the search indexes (`search-index.ts`), the log's
 * checkpoints and proofs (`LogFacts`, the log store) and the documentary evidence auditors
 * attached (`documentary.ts`). Costs a few Redis round trips per criterion whatever the size
 * of the log: counts come from the evidence sets, never from a scan.
 *
 * Computed at a checkpoint: the report counts the first `size` entries of the log — the ones
 * the latest checkpoint signs — so anyone holding the log up to it recomputes the same
 * numbers. Entries appended after the checkpoint (the "tail", a few seconds' worth: the log
 * checkpoints every N entries and T seconds) are read from the stream and taken off.
 */
import type { AuditEvent } from 'fhir/r4.js';
import type { Redis } from 'ioredis';
import { parseAuditEntry } from '../../shared/audit/audit-entry.js';
import { exchangeCriteria, type CriterionCode } from '../../shared/maturity/catalogue.js';
import { dateSpan } from '../../shared/store/date-range.js';
import type { DocumentaryStore } from './documentary.js';
import {
  buildEvidenceReport,
  recomputeEvidence,
  type CheckpointRef,
  type CriterionEvidence,
  type EvidenceReport,
  type InclusionProof,
  type ReportScope,
  type SampleExchange,
} from './domain/evidence-report.js';
import { termsOfEntry } from './domain/index-terms.js';
import { eventOfEntry } from '../../shared/audit/audit-entry.js';
import type { SearchIndex } from './search-index.js';

/** What the report needs from the Merkle log (the log store, services/audit/store.ts). */
export interface LogFacts {
  latestCheckpoint(): Promise<(CheckpointRef & { readonly issued?: string }) | undefined>;
  /** The stream id of the entry at a position (0-based), or undefined beyond the log. */
  idAt(position: number): Promise<string | undefined>;
  /** RFC 9162 inclusion proof of the entry in the tree of `treeSize` entries. */
  inclusionProof(streamId: string, treeSize: number): Promise<InclusionProof | undefined>;
}

/** Samples shown per criterion. */
const SAMPLES = 3;
/** Past this many entries after the checkpoint the tail is not read: the report is of the log as indexed, and says so. */
const MAX_TAIL = 50_000;

export class EvidenceReporter {
  constructor(
    private readonly redis: Redis,
    private readonly index: SearchIndex,
    private readonly log: LogFacts | undefined,
    private readonly documents: DocumentaryStore,
    private readonly now: () => Date = () => new Date(),
  ) {}

  async report(scope: ReportScope = {}): Promise<EvidenceReport> {
    const from = scope.since ? dateSpan(scope.since)?.lo : undefined;
    const to = scope.until ? dateSpan(scope.until)?.hi : undefined;
    const range = { ...(from !== undefined ? { from } : {}), ...(to !== undefined ? { to } : {}), ...(scope.partnership ? { partnership: scope.partnership } : {}) };
    const checkpoint = await this.log?.latestCheckpoint();
    const tail = checkpoint ? await this.tailAfter(checkpoint.size) : undefined;
    const codes = exchangeCriteria().map((c) => c.code);
    const tailIds = new Set(tail?.entries.map((e) => e.id) ?? []);
    const [stats, total, documents] = await Promise.all([
      this.index.evidenceStats(codes, range, { oldest: SAMPLES + tailIds.size, newest: 1 + tailIds.size }),
      this.index.countAll(range),
      this.documents.list(),
    ]);
    const tailCounts = tail ? this.tailEvidence(tail.entries, range) : { evidence: new Map<CriterionCode, number>(), exchanges: 0 };
    const evidence = new Map<CriterionCode, CriterionEvidence>();
    for (const code of codes) {
      const s = stats.get(code);
      if (!s) continue;
      const oldest = s.oldest.filter((e) => !tailIds.has(e.id));
      const newest = s.newest.filter((e) => !tailIds.has(e.id));
      const count = Math.max(0, s.count - (tailCounts.evidence.get(code) ?? 0));
      const samples: SampleExchange[] = await Promise.all(
        oldest.slice(0, SAMPLES).map(async (e): Promise<SampleExchange> => {
          const proof = checkpoint && tail?.exact ? await this.log?.inclusionProof(e.id, checkpoint.size) : undefined;
          return { id: e.id, recorded: new Date(e.at).toISOString(), ...(proof ? { proof } : {}) };
        }),
      );
      evidence.set(code, {
        count,
        ...(count > 0 && oldest[0] ? { first: new Date(oldest[0].at).toISOString() } : {}),
        ...(count > 0 && newest[0] ? { last: new Date(newest[0].at).toISOString() } : {}),
        samples: count > 0 ? samples : [],
      });
    }
    return buildEvidenceReport({
      generatedAt: this.now().toISOString(),
      ...(checkpoint && tail?.exact ? { checkpoint: { origin: checkpoint.origin, size: checkpoint.size, rootHash: checkpoint.rootHash, ...(checkpoint.note ? { note: checkpoint.note } : {}) } } : {}),
      scope,
      exchanges: Math.max(0, total - tailCounts.exchanges),
      evidence,
      documents,
    });
  }

  /** The AuditEvents a report cites (its samples), for the FHIR Bundle. */
  async citedEvents(report: EvidenceReport): Promise<AuditEvent[]> {
    const ids = [...new Set(report.areas.flatMap((a) => a.cells.flatMap((c) => c.samples.map((s) => s.id))))];
    return this.index.events(ids);
  }

  /** Entries appended after the first `size` (read from the stream); `exact` false when too many to read. */
  private async tailAfter(size: number): Promise<{ entries: { id: string; entry: ReturnType<typeof parseAuditEntry> }[]; exact: boolean }> {
    const lastId = size > 0 ? await this.log?.idAt(size - 1) : undefined;
    if (size > 0 && !lastId) return { entries: [], exact: false };
    const rows = await this.redis.xrange(this.index.keys.stream, lastId ? `(${lastId}` : '-', '+', 'COUNT', MAX_TAIL + 1);
    if (rows.length > MAX_TAIL) return { entries: [], exact: false };
    return {
      entries: rows.flatMap(([id, flat]) => {
        try {
          return [{ id, entry: parseAuditEntry(flat) }];
        } catch {
          return [];
        }
      }),
      exact: true,
    };
  }

  private tailEvidence(
    entries: readonly { id: string; entry: ReturnType<typeof parseAuditEntry> }[],
    range: { from?: number; to?: number; partnership?: string },
  ): { evidence: Map<CriterionCode, number>; exchanges: number } {
    const inScope = entries.filter(({ entry }) => {
      if (!range.partnership) return true;
      try {
        return termsOfEntry(entry, eventOfEntry(entry)).partnership === range.partnership;
      } catch {
        return false;
      }
    });
    const counted = recomputeEvidence(
      inScope.map(({ id, entry }) => ({ id, recorded: entry.recorded, outcome: entry.outcome, criteria: entry.criteria })),
      range,
    );
    const exchanges = inScope.filter(({ entry }) => {
      const at = Date.parse(entry.recorded);
      return (range.from === undefined || at >= range.from) && (range.to === undefined || at <= range.to);
    }).length;
    return { evidence: new Map([...counted].map(([code, e]) => [code, e.count])), exchanges };
  }
}
