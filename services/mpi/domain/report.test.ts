import { buildMatchingReport } from './report.js';

const model = { version: 0, source: 'configured' as const, description: 'test model', thresholds: { upper: 12, lower: 4 }, termFrequencies: false };
const estimated = {
  version: 1,
  source: 'estimated' as const,
  estimatedAt: '2025-06-02T10:00:00.000Z',
  records: 540,
  trigger: 'on-demand' as const,
  requestedBy: 'Organization/nhs-lothian',
  thresholds: { upper: 18.2, lower: 9.6 },
  linkProbability: 0.99,
  reviewProbability: 0.2,
  expected: { precision: 0.998, recall: 0.97, f1: 0.984, reviewShareOfRecords: 0.01, reviewTrueMatchShare: 0.6 },
  labelledPairs: 8,
  reviewerAgreement: 0.75,
  termFrequencies: true,
};

describe('buildMatchingReport', () => {
  it('counts outcomes, decisions by reviewer, how often reviewers agreed with the model, the model in use and its versions, possible-duplicate reviews raised and the age of the oldest open review', () => {
    const report = buildMatchingReport({
      now: new Date('2025-06-02T12:00:00Z'),
      matchingModel: 'both',
      indexedRecords: 560,
      stats: {
        'linked-auto': 120,
        'linked-chi': 150,
        'linked-manual': 2,
        'kept-manual': 1,
        review: 14,
        new: 274,
        'chi-seeded': 33,
        relabelled: 9,
        'decision-link': 5,
        'decision-not-link': 3,
        'correction-unlink': 1,
        'correction-merge': 2,
        'review-superseded': 2,
        'review-duplicate': 4,
        'reviewer:PractitionerRole/role-a': 6,
        'reviewer:Organization/nhs-lothian': 5,
        'reviewer-agreed': 6,
        'reviewer-disagreed': 2,
      },
      openReviews: 6,
      oldestRequestedAt: '2025-06-01T00:00:00Z',
      model: estimated,
      modelVersions: [model, estimated],
      automatic: { estimation: { state: 'waiting' } },
      lastBenchmark: { f1: 0.99 },
    });
    expect(report).toEqual({
      generatedAt: '2025-06-02T12:00:00.000Z',
      matchingModel: 'both',
      indexedRecords: 560,
      outcomes: { linkedAutomatically: 120, linkedByChi: 150, queuedForReview: 14, newPersons: 274, chiSeeded: 33, relabelled: 9 },
      reviewQueue: { open: 6, withdrawn: 2, possibleDuplicates: 4, oldestRequestedAt: '2025-06-01T00:00:00Z', oldestAgeHours: 36 },
      decisions: {
        link: 5,
        notLink: 3,
        unlinks: 1,
        merges: 2,
        byReviewer: { 'PractitionerRole/role-a': 6, 'Organization/nhs-lothian': 5 },
        agreedWithModel: 6,
        disagreedWithModel: 2,
        agreementWithModel: 0.75,
      },
      model: estimated,
      modelVersions: [model, estimated],
      automatic: { estimation: { state: 'waiting' } },
      lastBenchmark: { f1: 0.99 },
    });
  });

  it('reports an empty queue and zero counts for a fresh index, without a benchmark', () => {
    const report = buildMatchingReport({ now: new Date('2025-06-02T12:00:00Z'), matchingModel: 'chi-seeding', indexedRecords: 0, stats: {}, openReviews: 0, model, modelVersions: [model] });
    expect(report.reviewQueue).toEqual({ open: 0, withdrawn: 0, possibleDuplicates: 0 });
    expect(report.outcomes).toEqual({ linkedAutomatically: 0, linkedByChi: 0, queuedForReview: 0, newPersons: 0, chiSeeded: 0, relabelled: 0 });
    expect(report.decisions.byReviewer).toEqual({});
    expect(report.decisions).not.toHaveProperty('agreementWithModel');
    expect(report.model).toMatchObject({ version: 0, source: 'configured' });
    expect(report).not.toHaveProperty('lastBenchmark');
  });
});
