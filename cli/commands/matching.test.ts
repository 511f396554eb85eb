import { buildMatchingReport } from '../../services/mpi/domain/report.js';
import type { Parameters } from 'fhir/r4.js';
import { benchmarkRunLine, formatEstimate, formatReport, formatReviewView } from './matching.js';

describe('infoshare matching report output', () => {
  it('shows the queue, outcomes, reviewer decisions, model and last benchmark in words', () => {
    const report = buildMatchingReport({
      now: new Date('2026-11-25T12:00:00Z'),
      matchingModel: 'both',
      indexedRecords: 120,
      stats: { 'linked-chi': 10, 'linked-auto': 20, review: 3, new: 87, 'chi-seeded': 4, 'decision-link': 2, 'reviewer:PractitionerRole/role-x': 2, 'review-duplicate': 1 },
      openReviews: 1,
      oldestRequestedAt: '2026-11-25T09:00:00Z',
      model: {
        version: 2,
        source: 'estimated',
        estimatedAt: '2026-11-25T08:00:00.000Z',
        records: 110,
        trigger: 'index-growth',
        thresholds: { upper: 18.5, lower: 9.9 },
        linkProbability: 0.99,
        reviewProbability: 0.2,
        expected: { precision: 0.998, recall: 0.975, f1: 0.986, reviewShareOfRecords: 0.012, reviewTrueMatchShare: 0.55 },
        labelledPairs: 2,
        termFrequencies: true,
      },
      modelVersions: [],
      lastBenchmark: { generatedAt: '2026-11-24', runs: [{ dataset: 'febrl4', identifier: false, f1: 0.998, reviewShareOfTruePairs: 0.0014 }] },
    });
    const text = formatReport(report);
    expect(text).toContain('10 linked by CHI, 20 linked automatically, 3 queued for review, 87 new persons; 4 CHI seeded');
    expect(text).toContain('1 open, oldest 3 h');
    expect(text).toContain('1 raised as possible duplicates');
    expect(text).toContain('PractitionerRole/role-x: 2');
    expect(text).toContain('febrl4: F1 0.998, 0.1 % of true pairs left in review');
    expect(text).toContain('model in use          version 2, estimated 2026-11-25T08:00:00.000Z from 110 records (index-growth), with term frequencies');
    expect(text).toContain('link ≥ 18.5 (P ≥ 0.99), review ≥ 9.9 (P ≥ 0.2)');
    expect(text).toContain('the model expects     precision 0.998, recall 0.975 of automatic links; 1.2 % of records to review, 55 % of them true matches');
  });

  it('says when no benchmark has been run yet', () => {
    const report = buildMatchingReport({
      now: new Date(),
      matchingModel: 'chi-seeding',
      indexedRecords: 0,
      stats: {},
      openReviews: 0,
      model: { version: 0, source: 'configured', thresholds: { upper: 22, lower: 13 }, termFrequencies: false },
      modelVersions: [],
    });
    expect(formatReport(report)).toContain('none yet (npm run bench:matching)');
    expect(formatReport(report)).toContain('model in use          version 0 (the configured model file)');
  });
});

describe('the last benchmark in the matching report', () => {
  it('shows each kind of bench:matching row with the figures it has — never NaN or undefined', () => {
    // Row shapes as bench:matching writes them: a linkage run, a clustering run, per-seed runs, a summary.
    const lines = [
      { dataset: 'febrl4', identifier: true, f1: 0.9999, reviewShareOfTruePairs: 0 },
      { dataset: 'febrl3', identifier: false, f1: 0.9963, reviewShareOfRecords: 0.0022 },
      { dataset: 'heldout-proxy', seed: 2, f1: 0.9842, reviewShareOfRecords: 0.0196 },
      { dataset: 'randomised-summary', meanF1: 0.9917, worstF1: 0.9893, meanReviewShareOfRecords: 0.0117, worstReviewShareOfRecords: 0.0128 },
      { dataset: 'something-new' },
    ].map(benchmarkRunLine);
    expect(lines).toEqual([
      'febrl4 (with identifier): F1 0.9999, 0.0 % of true pairs left in review',
      'febrl3: F1 0.9963, 0.2 % of records in review',
      'heldout-proxy seed 2: F1 0.9842, 2.0 % of records in review',
      'randomised-summary: mean F1 0.9917, worst F1 0.9893, mean 1.2 % of records in review, worst 1.3 % of records in review',
      'something-new: no quality figures',
    ]);
    for (const line of lines) expect(line).not.toMatch(/NaN|undefined/);
  });
});

describe('infoshare matching estimate output', () => {
  it('says which version is now in use, from how many records, its thresholds and what it expects', () => {
    const text = formatEstimate({
      version: 3,
      records: 2_400,
      trigger: 'on-demand',
      thresholds: { upper: 17.2, lower: 8.6 },
      linkProbability: 0.99,
      reviewProbability: 0.2,
      expected: { precision: 0.999, recall: 0.96, f1: 0.979, reviewShareOfRecords: 0.015, reviewTrueMatchShare: 0.48 },
      labelledPairs: 4,
      reviewerAgreement: 0.75,
    });
    expect(text).toContain('Matching model version 3 is now in use, estimated from 2400 records and 4 reviewer decisions');
    expect(text).toContain('link ≥ 17.2 (P ≥ 0.99), review ≥ 8.6 (P ≥ 0.2)');
    expect(text).toContain('reviewers agreed with it on 75 % of their decisions');
  });
});

describe('infoshare matching review output', () => {
  const view: Parameters = {
    resourceType: 'Parameters',
    parameter: [
      { name: 'task', valueReference: { reference: 'Task/t1' } },
      { name: 'status', valueCode: 'requested' },
      { name: 'review-kind', valueCode: 'match' },
      { name: 'question', valueString: 'Are Patient/police.1 and Patient/nhs.1 the same person?' },
      { name: 'model', valueString: 'matching model version 2' },
      { name: 'score', valueDecimal: 14.2 },
      { name: 'probability', valueDecimal: 0.83 },
      { name: 'outcome', valueCode: 'review' },
      { name: 'side', part: [{ name: 'role', valueCode: 'record' }, { name: 'patient', valueReference: { reference: 'Patient/police.1' } }, { name: 'agency', valueReference: { reference: 'Organization/police' } }, { name: 'shown', valueBoolean: false }, { name: 'withheld', valueString: 'not under the ISP' }] },
      { name: 'side', part: [{ name: 'role', valueCode: 'candidate' }, { name: 'patient', valueReference: { reference: 'Patient/nhs.1' } }, { name: 'agency', valueReference: { reference: 'Organization/nhs' } }, { name: 'shown', valueBoolean: true }] },
      { name: 'field', part: [{ name: 'name', valueCode: 'given' }, { name: 'candidate', valueString: 'Morag' }, { name: 'level', valueCode: 'exact' }, { name: 'weight', valueDecimal: 7.8 }, { name: 'term-frequency', valueDecimal: 1.2 }] },
      { name: 'field', part: [{ name: 'name', valueCode: 'birthDate' }, { name: 'candidate', valueString: '1970-04-02' }, { name: 'level', valueCode: 'year-slip' }, { name: 'weight', valueDecimal: -0.5 }] },
    ],
  };

  it('shows one line per field with both records’ values, level and weight, and why values are withheld', () => {
    const text = formatReviewView(view);
    expect(text).toContain('Task/t1 (requested)');
    expect(text).toContain('now: score 14.2, P(same person) 0.83 → review, under the matching model version 2');
    expect(text).toContain('Patient/police.1 (police): values withheld: not under the ISP');
    const lines = text.split('\n');
    expect(lines.find((l) => l.startsWith('field'))).toMatch(/^field\s+Patient\/police\.1 \(police\)\s+Patient\/nhs\.1 \(nhs\)\s+level\s+weight$/);
    expect(lines.find((l) => l.startsWith('given'))).toMatch(/^given\s+—\s+Morag\s+exact\s+\+7\.8 \(frequency \+1\.2\)$/);
    expect(lines.find((l) => l.startsWith('birthDate'))).toMatch(/^birthDate\s+—\s+1970-04-02\s+year-slip\s+-0\.5$/);
  });
});
