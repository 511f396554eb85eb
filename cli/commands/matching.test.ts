import { buildMatchingReport } from '../../services/mpi/domain/report.js';
import { formatReport } from './matching.js';

describe('infoshare matching report output', () => {
  it('shows the queue, outcomes, reviewer decisions, model and last benchmark in words', () => {
    const report = buildMatchingReport({
      now: new Date('2026-11-25T12:00:00Z'),
      matchingModel: 'both',
      indexedRecords: 120,
      stats: { 'linked-chi': 10, 'linked-auto': 20, review: 3, new: 87, 'chi-seeded': 4, 'decision-link': 2, 'reviewer:PractitionerRole/role-x': 2, 'review-duplicate': 1 },
      openReviews: 1,
      oldestRequestedAt: '2026-11-25T09:00:00Z',
      model: { thresholds: { upper: 22, lower: 13 } },
      lastBenchmark: { generatedAt: '2026-11-24', runs: [{ dataset: 'febrl4', identifier: false, f1: 0.998, reviewShareOfTruePairs: 0.0014 }] },
    });
    const text = formatReport(report);
    expect(text).toContain('10 linked by CHI, 20 linked automatically, 3 queued for review, 87 new persons; 4 CHI seeded');
    expect(text).toContain('1 open, oldest 3 h');
    expect(text).toContain('1 raised as possible duplicates');
    expect(text).toContain('PractitionerRole/role-x: 2');
    expect(text).toContain('febrl4: F1 0.998, 0.1 % of true pairs left in review');
  });

  it('says when no benchmark has been run yet', () => {
    const report = buildMatchingReport({
      now: new Date(),
      matchingModel: 'chi-seeding',
      indexedRecords: 0,
      stats: {},
      openReviews: 0,
      model: { thresholds: { upper: 22, lower: 13 } },
    });
    expect(formatReport(report)).toContain('none yet (npm run bench:matching)');
  });
});
