/**
 * The evidence report on the real audit service: the log's appender keeps the search indexes up,
 * the report is computed at the latest signed checkpoint (entries after it are not counted, so
 * anyone can recompute it from the log up to there), and each sample exchange carries an
 * inclusion proof that verifies against that checkpoint's root.
 */
import { canonicalEntry } from '../../shared/audit/audit-entry.js';
import type { ExchangeRecord } from '../../shared/audit/exchange.js';
import { RedisAuditSink } from '../../shared/audit/audit-client.js';
import { startTestAudit, type TestAudit } from '../../test/audit.js';
import { leafHashOfText, verifyInclusion } from './domain/merkle.js';
import { recomputeEvidence, type EvidenceReport } from './domain/evidence-report.js';

let audit: TestAudit;

const alert = (n: number, criteria: string[]): ExchangeRecord => ({
  requestId: `ev-log-${n}`,
  service: 'alerts',
  type: 'rest',
  subtype: '$process-message',
  action: 'C',
  outcome: '0',
  agent: { clientId: 'nhs-lothian', agency: 'nhs-lothian', partnership: 'lothian-hscp' },
  entities: [],
  criteria,
});

beforeAll(async () => {
  audit = await startTestAudit({ INFOSHARE_AUDIT_CHECKPOINT_EVERY: '100000', INFOSHARE_AUDIT_CHECKPOINT_SECONDS: '0.2' });
});
afterAll(async () => {
  await audit.close();
});

const cellOf = (report: EvidenceReport, code: string) => report.areas.flatMap((a) => a.cells).find((c) => c.code === code)!;

describe('the evidence report on the audit log', () => {
  it('counts what the latest checkpoint signs, with inclusion proofs that verify against its root', async () => {
    const sink = new RedisAuditSink(audit.dir.redis, audit.dir.keys);
    await sink.recordMany([alert(1, ['MA-L3']), alert(2, ['MA-L3', 'MA-L4']), alert(3, ['MA-L3'])]);
    const settled = await audit.settled({ signed: true });
    const first = (await audit.get('nhs-lothian', '/evidence')).body as EvidenceReport;
    const checkpoint = first.checkpoint!;
    // The auditor's own token grant may be appended (and signed) meanwhile: the report names whichever checkpoint it used.
    expect(checkpoint.size).toBeGreaterThanOrEqual(settled);
    expect(cellOf(first, 'MA-L3')).toMatchObject({ count: 3, status: 'demonstrated' });

    // Recomputed from the log's own entries up to the checkpoint: the same counts.
    const entries = await audit.ctx.store.entriesAt(0, checkpoint.size);
    const recomputed = recomputeEvidence(entries.map((e) => ({ id: e.id, recorded: e.entry.recorded, outcome: e.entry.outcome, criteria: e.entry.criteria })));
    for (const cell of first.areas.flatMap((a) => a.cells).filter((c) => c.kind === 'exchange')) expect(cell.count).toBe(recomputed.get(cell.code)?.count ?? 0);

    // Each sample's proof verifies against the checkpoint's root.
    const root = Buffer.from(checkpoint.rootHash, 'base64');
    for (const sample of cellOf(first, 'MA-L3').samples) {
      const entry = entries.find((e) => e.id === sample.id)!;
      const proof = sample.proof!;
      expect(proof.treeSize).toBe(checkpoint.size);
      expect(verifyInclusion(proof.leafIndex, proof.treeSize, leafHashOfText(canonicalEntry(entry.entry, entry.id, entry.layout)), proof.hashes.map((h) => Buffer.from(h, 'base64')), root)).toBe(true);
    }
  });

  it('finds the exchanges through the search the appender indexed', async () => {
    const res = await audit.get('nhs-lothian', '/fhir/AuditEvent?criterion=MA-L4&_summary=count');
    expect(res.body.total).toBe(1);
  });
});
