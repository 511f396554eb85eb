/**
 * Grey-zone pairs become FHIR Tasks for a reviewer (manual matching, MI-L3).
 * The Task names both records and carries the engine's explanation — each
 * field's agreement level and weight — so the reviewer sees why it was asked.
 */
import type { Task, TaskInput } from 'fhir/r4.js';
import { CodeSystems } from '../../../shared/fhir/systems.js';

export const MATCH_REVIEW_CODE = 'match-review';

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
}

const inputType = (code: string): TaskInput['type'] => ({ coding: [{ system: CodeSystems.taskCode, code }], text: code });

export function buildReviewTask(request: ReviewRequest): Task {
  return {
    resourceType: 'Task',
    status: 'requested',
    intent: 'order',
    priority: 'routine',
    code: { coding: [{ system: CodeSystems.taskCode, code: MATCH_REVIEW_CODE, display: 'Review a possible match' }] },
    description: `Are Patient/${request.recordId} and Patient/${request.candidateId} the same person? Score ${request.score.toFixed(2)} is between the review thresholds.`,
    focus: { reference: `Patient/${request.recordId}` },
    authoredOn: request.authoredOn,
    requester: { identifier: { value: request.requestedBy }, display: 'infoshare mpi' },
    input: [
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
 * only if the new version is again in the grey zone with the same candidate.
 */
export function reviewStillStands(task: Task, outcome: 'linked' | 'review' | 'new', questionedCandidateId: string | undefined): boolean {
  return outcome === 'review' && reviewPair(task)?.candidateId === questionedCandidateId;
}
