/**
 * Grey-zone pairs become FHIR Tasks for a reviewer (manual matching, MI-L3).
 * The Task names both records and carries the engine's explanation — each
 * field's agreement level and weight — so the reviewer sees why it was asked.
 *
 * A second kind asks about Persons rather than a record: a new record that links
 * to one Person and is as close to a record of another (a possible duplicate —
 * one individual indexed twice) raises the same Task for that pair, marked
 * `review-kind` `possible-duplicate`; "link" then merges the two Persons.
 */
import type { Task, TaskInput } from 'fhir/r4.js';
import { CodeSystems } from '../../../shared/fhir/systems.js';

export const MATCH_REVIEW_CODE = 'match-review';

/** Task.input `review-kind` of a merge question about two Persons (a plain grey-zone review has none). */
export const POSSIBLE_DUPLICATE = 'possible-duplicate';

export type ReviewKind = 'match' | typeof POSSIBLE_DUPLICATE;

export interface FieldEvidence {
  readonly field: string;
  readonly level: string;
  readonly weight: number;
}

export interface ReviewRequest {
  /** The record that was just registered. */
  readonly recordId: string;
  /** The existing record it may be the same person as. */
  readonly candidateId: string;
  /** The Person the candidate belongs to. */
  readonly candidatePersonId: string;
  readonly score: number;
  readonly probability: number;
  readonly fields: readonly FieldEvidence[];
  readonly requestedBy: string;
  readonly authoredOn: string;
  /**
   * Set for a possible duplicate: the record was linked to this Person and is
   * as close to the candidate, whose Person may be the same individual.
   */
  readonly possibleDuplicateOf?: { readonly recordPersonId: string };
  /** The engine's rule that sent the pair to review whatever its score (possible twins, a contradicted CHI). */
  readonly rule?: { readonly outcome: string; readonly detail: string };
  /**
   * Set when the pair itself would link (the link band, or the same CHI) but the re-clustering pass kept the two
   * records' Persons apart because other records of theirs contradict one another (clustering.ts `contradicts`).
   */
  readonly linkKeptApart?: boolean;
}

/** Why a reviewer is asked: the rule that held the pair, a link other records contradict, else its score in the review band. */
function reviewReason(request: ReviewRequest): string {
  const score = request.score.toFixed(2);
  if (request.rule?.outcome === 'review') return `A rule holds the pair for a reviewer: ${request.rule.detail} (score ${score}).`;
  if (request.linkKeptApart) {
    const evidence = request.rule ? `${request.rule.detail}, score ${score}` : `score ${score}, in the link band`;
    return (
      `The pair would link (${evidence}), but linking it would put together records of the two Persons that must stay ` +
      'apart (different CHI numbers, possible twins, or an identifying field that differs): a reviewer decides.'
    );
  }
  return `Score ${score} is between the review thresholds.`;
}

const inputType = (code: string): TaskInput['type'] => ({ coding: [{ system: CodeSystems.taskCode, code }], text: code });

export function buildReviewTask(request: ReviewRequest): Task {
  const duplicate = request.possibleDuplicateOf;
  return {
    resourceType: 'Task',
    status: 'requested',
    intent: 'order',
    priority: 'routine',
    code: { coding: [{ system: CodeSystems.taskCode, code: MATCH_REVIEW_CODE, display: 'Review a possible match' }] },
    description: duplicate
      ? `Person/${duplicate.recordPersonId} and Person/${request.candidatePersonId} may be one individual indexed twice: ` +
        `Patient/${request.recordId} links to Person/${duplicate.recordPersonId} and is as close to Patient/${request.candidateId} ` +
        `of Person/${request.candidatePersonId} (score ${request.score.toFixed(2)}). Link merges the two Persons.`
      : `Are Patient/${request.recordId} and Patient/${request.candidateId} the same person? ${reviewReason(request)}`,
    focus: { reference: `Patient/${request.recordId}` },
    authoredOn: request.authoredOn,
    requester: { identifier: { value: request.requestedBy }, display: 'infoshare mpi' },
    input: [
      ...(duplicate
        ? [
            { type: inputType('review-kind'), valueCode: POSSIBLE_DUPLICATE },
            { type: inputType('record-person'), valueReference: { reference: `Person/${duplicate.recordPersonId}` } },
          ]
        : []),
      { type: inputType('candidate'), valueReference: { reference: `Patient/${request.candidateId}` } },
      { type: inputType('candidate-person'), valueReference: { reference: `Person/${request.candidatePersonId}` } },
      { type: inputType('score'), valueDecimal: round(request.score) },
      { type: inputType('probability'), valueDecimal: round(request.probability) },
      ...request.fields.map((f) => ({
        type: inputType('field-evidence'),
        valueString: `${f.field}: ${f.level} (weight ${f.weight >= 0 ? '+' : ''}${round(f.weight)})`,
      })),
    ],
  };
}

/** The two record ids a review Task is about, read back from the Task. */
export function reviewPair(task: Task): { recordId: string; candidateId: string } | undefined {
  const recordId = task.focus?.reference?.replace(/^Patient\//, '');
  const candidateId = task.input
    ?.find((i) => i.type.coding?.some((c) => c.code === 'candidate'))
    ?.valueReference?.reference?.replace(/^Patient\//, '');
  return recordId && candidateId ? { recordId, candidateId } : undefined;
}

/** Whether a review Task asks about a record pair (`match`) or about merging two Persons. */
export function reviewKind(task: Task): ReviewKind {
  const kind = task.input?.find((i) => i.type.coding?.some((c) => c.code === 'review-kind'))?.valueCode;
  return kind === POSSIBLE_DUPLICATE ? POSSIBLE_DUPLICATE : 'match';
}

/** The two Persons a possible-duplicate Task asks about (record's, candidate's, as when it was raised); undefined for other reviews. */
export function duplicatePersons(task: Task): readonly [string, string] | undefined {
  if (reviewKind(task) !== POSSIBLE_DUPLICATE) return undefined;
  const person = (code: string) =>
    task.input?.find((i) => i.type.coding?.some((c) => c.code === code))?.valueReference?.reference?.replace(/^Person\//, '');
  const [a, b] = [person('record-person'), person('candidate-person')];
  return a && b ? [a, b] : undefined;
}

/** The Task after a reviewer's decision. */
export function resolvedTask(task: Task, decision: 'link' | 'not-link', by: string, at: string, note?: string): Task {
  return {
    ...task,
    status: 'completed',
    lastModified: at,
    owner: by.startsWith('PractitionerRole/') ? { reference: by } : { identifier: { value: by } },
    output: [
      { type: inputType('decision'), valueCode: decision },
      ...(note ? [{ type: inputType('note'), valueString: note }] : []),
    ],
  };
}

function round(n: number): number {
  return Math.round(n * 1000) / 1000;
}

/** A review Task withdrawn because its question no longer stands (e.g. the record was re-submitted). */
export function cancelledTask(task: Task, reason: string, at: string): Task {
  return { ...task, status: 'cancelled', lastModified: at, statusReason: { text: reason } };
}

/**
 * Whether an open review of a re-submitted record still asks a live question:
 * a grey-zone review only if the new version is again in the grey zone with the
 * same candidate; a possible-duplicate review only if the new version again links
 * and is again as close to the same candidate (`duplicateCandidateIds`).
 */
export function reviewStillStands(
  task: Task,
  outcome: 'linked' | 'review' | 'new',
  questionedCandidateId: string | undefined,
  duplicateCandidateIds: readonly string[] = [],
): boolean {
  const candidateId = reviewPair(task)?.candidateId;
  if (reviewKind(task) === POSSIBLE_DUPLICATE) return outcome === 'linked' && candidateId !== undefined && duplicateCandidateIds.includes(candidateId);
  return outcome === 'review' && candidateId === questionedCandidateId;
}
