import { CodeSystems } from '../../../shared/fhir/systems.js';
import { validityOf } from '../../../shared/fhir/validate.js';
import { buildReviewTask, cancelledTask, duplicatePersons, MATCH_REVIEW_CODE, POSSIBLE_DUPLICATE, resolvedTask, reviewKind, reviewPair, reviewStillStands } from './review-task.js';

const task = buildReviewTask({
  recordId: 'edinburgh-education.E1',
  candidateId: 'nhs-lothian.N1',
  candidatePersonId: 'per-1',
  score: 7.456,
  probability: 0.8312,
  fields: [
    { field: 'given', level: 'nickname', weight: 6.1 },
    { field: 'postcode', level: 'different', weight: -3.25 },
  ],
  requestedBy: 'Organization/edinburgh-education',
  authoredOn: '2025-06-01T10:00:00Z',
});

describe('buildReviewTask', () => {
  it('is a requested match-review Task about the new record, naming the candidate and its Person', () => {
    expect(task).toMatchObject({
      resourceType: 'Task',
      status: 'requested',
      intent: 'order',
      code: { coding: [{ system: CodeSystems.taskCode, code: MATCH_REVIEW_CODE }] },
      focus: { reference: 'Patient/edinburgh-education.E1' },
      authoredOn: '2025-06-01T10:00:00Z',
    });
    const inputs = Object.fromEntries(task.input!.filter((i) => i.type.text !== 'field-evidence').map((i) => [i.type.text, i]));
    expect(inputs.candidate!.valueReference).toEqual({ reference: 'Patient/nhs-lothian.N1' });
    expect(inputs['candidate-person']!.valueReference).toEqual({ reference: 'Person/per-1' });
    expect(inputs.score!.valueDecimal).toBe(7.456);
    expect(inputs.probability!.valueDecimal).toBe(0.831);
  });

  it('carries the explanation: each field with its agreement and weight', () => {
    const evidence = task.input!.filter((i) => i.type.text === 'field-evidence').map((i) => i.valueString);
    expect(evidence).toEqual(['given: nickname (weight +6.1)', 'postcode: different (weight -3.25)']);
  });

  it('says a grey-zone pair is asked about because of its score', () => {
    expect(task.description).toBe('Are Patient/edinburgh-education.E1 and Patient/nhs-lothian.N1 the same person? Score 7.46 is between the review thresholds.');
  });

  it('says a pair held by a rule (possible twins) is asked about because of the rule, not its score', () => {
    const held = buildReviewTask({
      recordId: 'lothian-social-work.S1',
      candidateId: 'nhs-lothian.N2',
      candidatePersonId: 'per-2',
      score: 31.2,
      probability: 1,
      fields: [],
      rule: { outcome: 'review', detail: 'forenames differ while family name and birth date agree: P(same person) ≈ 0.412 allowing for twins' },
      requestedBy: 'Organization/lothian-social-work',
      authoredOn: '2025-06-01T10:00:00Z',
    });
    expect(held.description).toBe(
      'Are Patient/lothian-social-work.S1 and Patient/nhs-lothian.N2 the same person? A rule holds the pair for a reviewer: ' +
        'forenames differ while family name and birth date agree: P(same person) ≈ 0.412 allowing for twins (score 31.20).',
    );
  });
});

describe('buildReviewTask: a re-clustering question about a pair that links on its own', () => {
  const base = {
    recordId: 'lothian-police.P1',
    candidateId: 'nhs-lothian.N3',
    candidatePersonId: 'per-3',
    probability: 1,
    fields: [],
    requestedBy: 'infoshare mpi re-clustering',
    authoredOn: '2025-06-01T10:00:00Z',
    linkKeptApart: true,
  } as const;

  it('says the score is in the link band and other records keep the two apart, not that it is between the review thresholds', () => {
    const task = buildReviewTask({ ...base, score: 35.789 });
    expect(task.description).toBe(
      'Are Patient/lothian-police.P1 and Patient/nhs-lothian.N3 the same person? The pair would link (score 35.79, in the link band), ' +
        'but linking it would put together records of the two Persons that must stay apart (different CHI numbers, possible twins, ' +
        'or an identifying field that differs): a reviewer decides.',
    );
  });

  it('names the rule that would link it (the same CHI)', () => {
    const task = buildReviewTask({ ...base, score: 12.5, rule: { outcome: 'link', detail: 'same CHI number' } });
    expect(task.description).toContain('The pair would link (same CHI number, score 12.50), but linking it would put together');
  });
});

describe('buildReviewTask: a possible duplicate', () => {
  const duplicate = buildReviewTask({
    recordId: 'edinburgh-social-work.S1',
    candidateId: 'edinburgh-housing.H1',
    candidatePersonId: 'per-b',
    score: 54.234,
    probability: 1,
    fields: [{ field: 'phone', level: 'exact', weight: 11.74 }],
    requestedBy: 'Organization/edinburgh-social-work',
    authoredOn: '2025-06-01T10:00:00Z',
    possibleDuplicateOf: { recordPersonId: 'per-a' },
  });

  it('is the same match-review Task, marked review-kind possible-duplicate and naming both Persons', () => {
    expect(duplicate).toMatchObject({ status: 'requested', code: { coding: [{ code: MATCH_REVIEW_CODE }] }, focus: { reference: 'Patient/edinburgh-social-work.S1' } });
    const inputs = Object.fromEntries(duplicate.input!.filter((i) => i.type.text !== 'field-evidence').map((i) => [i.type.text, i]));
    expect(inputs['review-kind']).toEqual({ type: { coding: [{ system: CodeSystems.taskCode, code: 'review-kind' }], text: 'review-kind' }, valueCode: POSSIBLE_DUPLICATE });
    expect(inputs['record-person']!.valueReference).toEqual({ reference: 'Person/per-a' });
    expect(inputs['candidate-person']!.valueReference).toEqual({ reference: 'Person/per-b' });
    expect(reviewPair(duplicate)).toEqual({ recordId: 'edinburgh-social-work.S1', candidateId: 'edinburgh-housing.H1' });
  });

  it('says in words that the two Persons may be one individual indexed twice, and why', () => {
    expect(duplicate.description).toBe(
      'Person/per-a and Person/per-b may be one individual indexed twice: Patient/edinburgh-social-work.S1 links to Person/per-a ' +
        'and is as close to Patient/edinburgh-housing.H1 of Person/per-b (score 54.23). Link merges the two Persons.',
    );
  });

  it('names the two Persons it asks about (a grey-zone review names none)', () => {
    expect(duplicatePersons(duplicate)).toEqual(['per-a', 'per-b']);
    expect(duplicatePersons(task)).toBeUndefined();
  });

  it('is told apart from a grey-zone review by reviewKind', () => {
    expect(reviewKind(duplicate)).toBe(POSSIBLE_DUPLICATE);
    expect(reviewKind(task)).toBe('match');
    expect(task.input!.some((i) => i.type.text === 'review-kind' || i.type.text === 'record-person')).toBe(false);
  });

  it('still stands for a re-submitted record only while it links and is as close to the same candidate', () => {
    expect(reviewStillStands(duplicate, 'linked', 'nhs.1', ['edinburgh-housing.H1'])).toBe(true);
    expect(reviewStillStands(duplicate, 'linked', 'nhs.1', [])).toBe(false);
    expect(reviewStillStands(duplicate, 'linked', 'nhs.1', ['edinburgh-housing.H2'])).toBe(false);
    expect(reviewStillStands(duplicate, 'review', 'edinburgh-housing.H1', ['edinburgh-housing.H1'])).toBe(false);
    expect(reviewStillStands(duplicate, 'new', undefined)).toBe(false);
  });
});

describe('reviewPair', () => {
  it('reads both records back from the Task', () => {
    expect(reviewPair(task)).toEqual({ recordId: 'edinburgh-education.E1', candidateId: 'nhs-lothian.N1' });
  });

  it('is undefined for a Task that does not name a candidate', () => {
    expect(reviewPair({ ...task, input: [] })).toBeUndefined();
  });
});

describe('resolvedTask', () => {
  it('completes the Task with the decision, the reviewer as owner and the note', () => {
    const done = resolvedTask(task, 'not-link', 'PractitionerRole/role-a', '2025-06-02T09:00:00Z', 'different mothers');
    expect(done).toMatchObject({ status: 'completed', lastModified: '2025-06-02T09:00:00Z', owner: { reference: 'PractitionerRole/role-a' } });
    expect(done.output).toEqual([
      { type: expect.objectContaining({ text: 'decision' }), valueCode: 'not-link' },
      { type: expect.objectContaining({ text: 'note' }), valueString: 'different mothers' },
    ]);
    // The question itself is kept.
    expect(done.input).toEqual(task.input);
  });

  it('names a reviewing agency system by identifier when no practitioner acted', () => {
    const done = resolvedTask(task, 'link', 'Organization/nhs-lothian', '2025-06-02T09:00:00Z');
    expect(done.owner).toEqual({ identifier: { value: 'Organization/nhs-lothian' } });
    expect(done.output).toHaveLength(1);
  });
});

describe('reviewStillStands', () => {
  const task = buildReviewTask({
    recordId: 'sw.1',
    candidateId: 'nhs.1',
    candidatePersonId: 'per-1',
    score: 15,
    probability: 0.5,
    fields: [],
    requestedBy: 'Organization/sw',
    authoredOn: '2026-11-25T00:00:00Z',
  });

  it('keeps the question when the re-submitted record is again in the grey zone with the same candidate', () => {
    expect(reviewStillStands(task, 'review', 'nhs.1')).toBe(true);
  });

  it('withdraws it when the record now links, matches nobody, or questions another record', () => {
    expect(reviewStillStands(task, 'linked', 'nhs.1')).toBe(false);
    expect(reviewStillStands(task, 'new', undefined)).toBe(false);
    expect(reviewStillStands(task, 'review', 'nhs.2')).toBe(false);
  });

  it('marks a withdrawn Task cancelled with the reason', () => {
    expect(cancelledTask(task, 'Superseded', '2026-11-25T01:00:00Z')).toMatchObject({ status: 'cancelled', statusReason: { text: 'Superseded' } });
  });
});

describe('review Tasks as written to the store', () => {
  it('are valid R4 Tasks when raised, resolved with a reviewer note, and cancelled', () => {
    const resolved = resolvedTask(task, 'not-link', 'PractitionerRole/pr-1', '2025-06-02T09:00:00Z', 'different mother’s maiden name');
    const cancelled = cancelledTask(task, 'Superseded: the record was re-submitted', '2025-06-03T09:00:00Z');
    for (const written of [task, resolved, cancelled]) expect(validityOf(written, 'Task')).toEqual({ valid: true });
  });
});
