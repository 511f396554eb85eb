import type { CriterionCode } from '../../../shared/maturity/catalogue.js';
import { buildEvidenceReport, cellsOf, recomputeEvidence, type CriterionEvidence, type DocumentaryEvidence } from './evidence-report.js';

const evidenced = (...codes: CriterionCode[]): Map<CriterionCode, CriterionEvidence> =>
  new Map(codes.map((code) => [code, { count: 2, first: '2026-12-01T10:00:00.000Z', last: '2026-12-02T10:00:00.000Z', samples: [{ id: `${code}-1`, recorded: '2026-12-01T10:00:00.000Z' }] }]));

const report = (evidence: Map<CriterionCode, CriterionEvidence>, documents: DocumentaryEvidence[] = []) =>
  buildEvidenceReport({ generatedAt: '2026-12-06T06:00:00.000Z', checkpoint: { origin: 'lothian/audit', size: 10, rootHash: 'abc=' }, scope: {}, exchanges: 10, evidence, documents });

const cell = (r: ReturnType<typeof report>, code: string) => cellsOf(r).find((c) => c.code === code)!;
const area = (r: ReturnType<typeof report>, code: string) => r.areas.find((a) => a.code === code)!;

describe('the maturity evidence report', () => {
  it('grades all 45 cells of the Annex B grid, area by area, level 1 first, and names its checkpoint', () => {
    const r = report(new Map());
    expect(r.areas.map((a) => a.code)).toEqual(['IM', 'GV', 'TR', 'PC', 'AP', 'PD', 'MA', 'MI', 'SI']);
    expect(cellsOf(r)).toHaveLength(45);
    expect(r.checkpoint).toEqual({ origin: 'lothian/audit', size: 10, rootHash: 'abc=' });
    expect(cell(r, 'MA-L3').status).toBe('not yet');
    expect(cell(r, 'GV-L3').status).toBe('documentary evidence needed');
    expect(area(r, 'MA').highestLevel).toBeNull();
    expect(area(r, 'GV').highestLevel).toBe('documentary evidence needed');
  });

  it('counts a level only when every exchange-provable criterion of it and below has evidence', () => {
    const r = report(evidenced('MA-L3', 'MA-L5'));
    expect(area(r, 'MA').highestLevel).toBe(3);
    expect(cell(r, 'MA-L3').status).toBe('demonstrated');
    expect(cell(r, 'MA-L4')).toMatchObject({ status: 'not yet', lacking: ['MA-L4'] });
    // Evidence for L5 does not make up for the gap at L4: shown, but only partly.
    expect(cell(r, 'MA-L5')).toMatchObject({ status: 'partly', count: 2, lacking: ['MA-L4'], first: '2026-12-01T10:00:00.000Z' });
  });

  it('carries counts, dates and sample exchanges for each evidenced cell', () => {
    const r = report(evidenced('PD-L2', 'PD-L3', 'PD-L4'));
    expect(area(r, 'PD').highestLevel).toBe(4);
    expect(cell(r, 'PD-L4')).toMatchObject({ status: 'demonstrated', count: 2, last: '2026-12-02T10:00:00.000Z', samples: [{ id: 'PD-L4-1' }], lacking: [] });
    expect(cell(r, 'PD-L5')).toMatchObject({ status: 'not yet', lacking: ['PD-L5'] });
  });

  it('shows attached documents on documentary cells, apart from what exchanges demonstrate', () => {
    const doc: DocumentaryEvidence = { id: 'd1', criterion: 'GV-L3', title: 'Board terms of reference', date: '2026-11-30', attestedBy: 'J. Smith' };
    const r = report(new Map(), [doc]);
    expect(cell(r, 'GV-L3')).toMatchObject({ status: 'documented', documents: [doc] });
    expect(area(r, 'GV').highestLevel).toBe('documentary evidence needed');
  });
});

describe('recomputing the evidence from the log', () => {
  it('counts successes, and refusals only for PD-L5 and SI-L3, with first and last dates', () => {
    const counted = recomputeEvidence([
      { id: '1-0', recorded: '2026-12-01T10:00:00.000Z', outcome: '0', criteria: 'MA-L3,MA-L4' },
      { id: '2-0', recorded: '2026-12-01T11:00:00.000Z', outcome: '4', criteria: 'PD-L4,SI-L3' },
      { id: '3-0', recorded: '2026-12-01T12:00:00.000Z', outcome: '4', criteria: 'PD-L5' },
      { id: '4-0', recorded: '2026-12-01T13:00:00.000Z', outcome: '8', criteria: 'MA-L3' },
      { id: '5-0', recorded: '2026-12-01T14:00:00.000Z', outcome: '0', criteria: 'MA-L3' },
    ]);
    expect(counted.get('MA-L3')).toMatchObject({ count: 2, first: '2026-12-01T10:00:00.000Z', last: '2026-12-01T14:00:00.000Z' });
    expect(counted.get('SI-L3')?.count).toBe(1);
    expect(counted.get('PD-L5')?.count).toBe(1);
    expect(counted.has('PD-L4')).toBe(false);
  });
});
