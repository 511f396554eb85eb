import type { Candidate, Comparison, Decision, Outcome } from './engine.js';
import { pairKey, type ManualDecision, type PersonLink } from './links.js';
import type { MatchFeatures } from './features.js';
import { outsideRejectedPersons, planRegistration, relabelJoined, withoutRejected, type PlanInput } from './registration-plan.js';

const RECORD = 'edinburgh-education.ED-1';

function candidate(id: string, score: number, outcome: Outcome, rule?: Comparison['rule']): Candidate {
  const explanation: Comparison = {
    score,
    outcome,
    grade: outcome === 'link' ? 'certain' : outcome === 'review' ? 'possible' : 'certainly-not',
    fields: [{ field: 'given', level: 'exact', weight: 4 }],
    ...(rule ? { rule } : {}),
  };
  return { id, score, rule: rule?.rule, explanation };
}

const sameChi: Comparison['rule'] = { rule: 'same-chi', outcome: 'link', detail: 'same CHI number' };

function decision(outcome: Outcome, best?: Candidate, reviewCandidates: Candidate[] = []): Decision {
  return { outcome, best, reviewCandidates, compared: best ? 1 + reviewCandidates.length : 0 };
}

const links: Record<string, PersonLink> = {
  'nhs-lothian.N1': { personId: 'per-nhs', assurance: 'level1', how: 'new' },
  'gp-leith-cluster.G1': { personId: 'per-gp', assurance: 'level1', how: 'new' },
};

const byReviewer = (d: ManualDecision['decision']): ManualDecision => ({ decision: d, by: 'PractitionerRole/reviewer', at: '2025-06-01T10:00:00Z' });

function plan(overrides: Partial<PlanInput>) {
  let next = 0;
  return planRegistration({
    recordId: RECORD,
    currentPersonSize: 0,
    decision: decision('new'),
    linkOf: (id) => links[id],
    manualDecisions: new Map(),
    openReviews: new Map(),
    newPersonId: () => `per-new-${++next}`,
    ...overrides,
  });
}

describe('planRegistration: a new record', () => {
  it('links automatically (level3) into the Person of the candidate the engine linked', () => {
    const best = candidate('nhs-lothian.N1', 18, 'link');
    const p = plan({ decision: decision('link', best) });
    expect(p).toMatchObject({ outcome: 'linked', personId: 'per-nhs', assurance: 'level3', how: 'auto', moves: true, keptManual: false });
    expect(p.candidate?.id).toBe('nhs-lothian.N1');
    expect(p.openReview).toBeUndefined();
  });

  it('links as CHI-verified (level4) when the same CHI decided it', () => {
    const p = plan({ decision: decision('link', candidate('nhs-lothian.N1', 25, 'link', sameChi)) });
    expect(p).toMatchObject({ outcome: 'linked', personId: 'per-nhs', assurance: 'level4', how: 'chi' });
  });

  it('becomes a Person of its own (level1) when nothing matches', () => {
    const p = plan({ decision: decision('new', candidate('nhs-lothian.N1', -12, 'new')) });
    expect(p).toMatchObject({ outcome: 'new', personId: 'per-new-1', assurance: 'level1', how: 'new', moves: true });
    expect(p.openReview).toBeUndefined();
  });

  it('queues a grey-zone pair for review once, and is indexed as a Person of its own meanwhile', () => {
    const c = candidate('nhs-lothian.N1', 6, 'review');
    const p = plan({ decision: decision('review', c, [c]) });
    expect(p).toMatchObject({ outcome: 'review', personId: 'per-new-1', assurance: 'level1', how: 'new', moves: true });
    expect(p.openReview).toEqual({ candidate: c, candidatePersonId: 'per-nhs' });
  });
});

describe('planRegistration: what reviewers decided stands', () => {
  it('keeps a manually linked record where the reviewer put it, whatever re-matching says', () => {
    const current: PersonLink = { personId: 'per-reviewed', assurance: 'level2', how: 'manual' };
    for (const d of [decision('new'), decision('link', candidate('gp-leith-cluster.G1', 20, 'link')), decision('review', candidate('gp-leith-cluster.G1', 5, 'review'))]) {
      const p = plan({ currentLink: current, currentPersonSize: 2, decision: d });
      expect(p).toMatchObject({ outcome: 'linked', personId: 'per-reviewed', assurance: 'level2', how: 'manual', moves: false, keptManual: true });
      expect(p.openReview).toBeUndefined();
    }
  });

  it('never links automatically a pair a reviewer kept apart', () => {
    const best = candidate('nhs-lothian.N1', 30, 'link', sameChi);
    const p = plan({ decision: decision('link', best), manualDecisions: new Map([[pairKey(RECORD, best.id), byReviewer('not-link')]]) });
    expect(p.outcome).toBe('new');
    expect(p.personId).not.toBe('per-nhs');
    expect(p.openReview).toBeUndefined();
  });

  it('does not ask again about a pair a reviewer kept apart', () => {
    const c = candidate('nhs-lothian.N1', 6, 'review');
    const p = plan({ decision: decision('review', c, [c]), manualDecisions: new Map([[pairKey(c.id, RECORD), byReviewer('not-link')]]) });
    expect(p.outcome).toBe('new');
    expect(p.openReview).toBeUndefined();
  });

  it('reviews the next candidate when the best one was kept apart by a reviewer', () => {
    const rejected = candidate('nhs-lothian.N1', 8, 'review');
    const other = candidate('gp-leith-cluster.G1', 6, 'review');
    const p = plan({ decision: decision('review', rejected, [rejected, other]), manualDecisions: new Map([[pairKey(RECORD, rejected.id), byReviewer('not-link')]]) });
    expect(p.outcome).toBe('review');
    expect(p.openReview).toEqual({ candidate: other, candidatePersonId: 'per-gp' });
  });

  it('links (level2, manual) to a candidate a reviewer already said is the same person, even from the grey zone', () => {
    const c = candidate('gp-leith-cluster.G1', 5, 'review');
    const p = plan({ decision: decision('review', c, [c]), manualDecisions: new Map([[pairKey(RECORD, c.id), byReviewer('link')]]) });
    expect(p).toMatchObject({ outcome: 'linked', personId: 'per-gp', assurance: 'level2', how: 'manual', moves: true });
    expect(p.openReview).toBeUndefined();
  });

  it('does not open a second review Task for a pair already waiting for a reviewer', () => {
    const c = candidate('nhs-lothian.N1', 6, 'review');
    const p = plan({
      currentLink: { personId: 'per-own', assurance: 'level1', how: 'new' },
      currentPersonSize: 1,
      decision: decision('review', c, [c]),
      openReviews: new Map([[pairKey(RECORD, c.id), 'mr-1']]),
    });
    expect(p.outcome).toBe('review');
    expect(p.personId).toBe('per-own');
    expect(p.openReview).toBeUndefined();
  });

  it('asks nothing when the questioned candidate is already in the same Person', () => {
    const c = candidate('nhs-lothian.N1', 6, 'review');
    const p = plan({ currentLink: { personId: 'per-nhs', assurance: 'level1', how: 'new' }, currentPersonSize: 1, decision: decision('review', c, [c]) });
    expect(p.openReview).toBeUndefined();
  });
});

describe('planRegistration: re-submitting a record re-matches it', () => {
  it('keeps the Person of a record alone in it when it no longer matches anyone', () => {
    const p = plan({ currentLink: { personId: 'per-own', assurance: 'level3', how: 'auto' }, currentPersonSize: 1, decision: decision('new') });
    expect(p).toMatchObject({ outcome: 'new', personId: 'per-own', assurance: 'level1', how: 'new', moves: true });
  });

  it('changes nothing for a record alone in its Person that still matches no one', () => {
    const p = plan({ currentLink: { personId: 'per-own', assurance: 'level1', how: 'new' }, currentPersonSize: 1, decision: decision('new') });
    expect(p).toMatchObject({ outcome: 'new', personId: 'per-own', moves: false });
  });

  it('moves an auto-linked record out to a new Person when it no longer matches its co-members', () => {
    const p = plan({ currentLink: { personId: 'per-shared', assurance: 'level3', how: 'auto' }, currentPersonSize: 3, decision: decision('new') });
    expect(p).toMatchObject({ outcome: 'new', personId: 'per-new-1', assurance: 'level1', how: 'new', moves: true });
  });

  it('does not move a record whose re-match links it to the Person it is already in, at the same assurance', () => {
    const p = plan({
      currentLink: { personId: 'per-nhs', assurance: 'level3', how: 'auto' },
      currentPersonSize: 2,
      decision: decision('link', candidate('nhs-lothian.N1', 17, 'link')),
    });
    expect(p).toMatchObject({ outcome: 'linked', personId: 'per-nhs', moves: false });
  });

  it('raises the assurance of a link that is now CHI-verified', () => {
    const p = plan({
      currentLink: { personId: 'per-nhs', assurance: 'level3', how: 'auto' },
      currentPersonSize: 2,
      decision: decision('link', candidate('nhs-lothian.N1', 30, 'link', sameChi)),
    });
    expect(p).toMatchObject({ outcome: 'linked', personId: 'per-nhs', assurance: 'level4', how: 'chi', moves: true });
  });
});

describe('planRegistration: possible duplicates (one individual indexed twice)', () => {
  const best = candidate('nhs-lothian.N1', 40, 'link', sameChi);
  const duplicate = candidate('gp-leith-cluster.G1', 54, 'link');
  const bridging = (): Decision => ({ ...decision('link', best), possibleDuplicates: [duplicate] });

  it('links to the best Person and raises a merge review for the record of the other Person', () => {
    const p = plan({ decision: bridging() });
    expect(p).toMatchObject({ outcome: 'linked', personId: 'per-nhs', assurance: 'level4', how: 'chi' });
    expect(p.openReview).toBeUndefined();
    expect(p.possibleDuplicates).toEqual([{ candidate: duplicate, candidatePersonId: 'per-gp', openReview: true }]);
  });

  it('does not open a second Task for a duplicate pair already waiting, but still reports it (so the waiting Task stands)', () => {
    const p = plan({ decision: bridging(), openReviews: new Map([[pairKey(RECORD, duplicate.id), 'mr-1']]) });
    expect(p.possibleDuplicates).toEqual([{ candidate: duplicate, candidatePersonId: 'per-gp', openReview: false }]);
  });

  it('never asks about a pair a reviewer already decided, either way', () => {
    for (const d of ['link', 'not-link'] as const) {
      const p = plan({ decision: bridging(), manualDecisions: new Map([[pairKey(duplicate.id, RECORD), byReviewer(d)]]) });
      expect(p).toMatchObject({ outcome: 'linked', personId: 'per-nhs' });
      expect(p.possibleDuplicates).toBeUndefined();
    }
  });

  it('asks nothing once both Persons are one (merged meanwhile), or about a record not indexed', () => {
    const merged = plan({ decision: bridging(), linkOf: (id) => (id === duplicate.id ? links['nhs-lothian.N1'] : links[id]) });
    expect(merged.possibleDuplicates).toBeUndefined();
    const unindexed = plan({ decision: { ...decision('link', best), possibleDuplicates: [candidate('police.P9', 30, 'link')] } });
    expect(unindexed.possibleDuplicates).toBeUndefined();
  });

  it('raises nothing for a record a reviewer placed (it stays put)', () => {
    const p = plan({ currentLink: { personId: 'per-reviewed', assurance: 'level2', how: 'manual' }, currentPersonSize: 2, decision: bridging() });
    expect(p).toMatchObject({ keptManual: true });
    expect(p.possibleDuplicates).toBeUndefined();
  });
});

describe('withoutRejected', () => {
  it('drops only candidates a reviewer said are someone else', () => {
    const a = candidate('nhs-lothian.N1', 6, 'review');
    const b = candidate('gp-leith-cluster.G1', 5, 'review');
    const manual = new Map([
      [pairKey(RECORD, a.id), byReviewer('not-link')],
      [pairKey(RECORD, b.id), byReviewer('link')],
    ]);
    expect(withoutRejected(RECORD, [a, b], manual)).toEqual([b]);
  });
});

describe('outsideRejectedPersons', () => {
  it('drops every record of a Person the reviewer said this record is not, and keeps the others', () => {
    const personOf: Record<string, PersonLink> = {
      'nhs-lothian.N1': { personId: 'per-iain', assurance: 'level1', how: 'new' },
      'nhs-lothian.N2': { personId: 'per-iain', assurance: 'level4', how: 'chi' },
      'gp-leith-cluster.G1': { personId: 'per-other', assurance: 'level1', how: 'new' },
    };
    const candidates = [{ id: 'nhs-lothian.N1' }, { id: 'nhs-lothian.N2' }, { id: 'gp-leith-cluster.G1' }];
    const manual = new Map([[pairKey(RECORD, 'nhs-lothian.N1'), byReviewer('not-link')]]);
    expect(outsideRejectedPersons(RECORD, candidates, manual, (id) => personOf[id])).toEqual([{ id: 'gp-leith-cluster.G1' }]);
    expect(outsideRejectedPersons(RECORD, candidates, new Map(), (id) => personOf[id])).toEqual(candidates);
  });
});

describe('relabelJoined', () => {
  const alone: PersonLink = { personId: 'per-iain', assurance: 'level1', how: 'new' };
  const auto: PersonLink = { personId: 'per-iain', assurance: 'level3', how: 'auto' };
  const first = { id: 'nhs-lothian.N1', chi: '0101011234' } as MatchFeatures;
  const withChi = { id: RECORD, chi: '0101011234' } as MatchFeatures;
  const withoutChi = { id: RECORD } as MatchFeatures;

  it('links a record alone until now as CHI-certain (level4) when the record joining it has its CHI', () => {
    expect(relabelJoined(alone, 'per-iain', first, withChi)).toEqual({ assurance: 'level4', how: 'chi' });
  });

  it('links it as an automatic match (level3) when the joining record has no CHI or another one', () => {
    expect(relabelJoined(alone, 'per-iain', first, withoutChi)).toEqual({ assurance: 'level3', how: 'auto' });
    expect(relabelJoined(alone, 'per-iain', first, { ...withChi, chi: '0202021234' })).toEqual({ assurance: 'level3', how: 'auto' });
    expect(relabelJoined(alone, 'per-iain', { id: 'nhs-lothian.N1' }, withoutChi)).toEqual({ assurance: 'level3', how: 'auto' });
  });

  it('raises an automatic link to CHI-certain when a record with its CHI joins it, and leaves it otherwise', () => {
    expect(relabelJoined(auto, 'per-iain', first, withChi)).toEqual({ assurance: 'level4', how: 'chi' });
    expect(relabelJoined(auto, 'per-iain', first, withoutChi)).toBeUndefined();
  });

  it('leaves CHI-certain links and a reviewer’s', () => {
    expect(relabelJoined({ personId: 'per-iain', assurance: 'level4', how: 'chi' }, 'per-iain', first, withChi)).toBeUndefined();
    expect(relabelJoined({ personId: 'per-iain', assurance: 'level2', how: 'manual' }, 'per-iain', first, withChi)).toBeUndefined();
    expect(relabelJoined({ personId: 'per-iain', assurance: 'level1', how: 'manual' }, 'per-iain', first, withChi)).toBeUndefined();
  });

  it('leaves a record of another Person than the one joined', () => {
    expect(relabelJoined(alone, 'per-other', first, withChi)).toBeUndefined();
  });
});
