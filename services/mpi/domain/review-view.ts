/**
 * The side-by-side view of a review Task (`GET /fhir/Task/{id}/$review`): both records'
 * values field by field, beside the agreement level and weight the model in use gives each,
 * so a reviewer decides in one read. Worked out when asked — from the records as they stand
 * and the model in use now — and never stored in the Task (which keeps only the evidence of
 * when it was raised, and names records, not values). The values of a record whose
 * demographics the ISP does not let flow to the caller's agency are left out; the levels and
 * weights stay (a reviewer sees them on the Task already). Pure.
 */
import type { Parameters, ParametersParameter, Patient, Task } from 'fhir/r4.js';
import { IdentifierSystems } from '../../../shared/fhir/systems.js';
import { FIELD_NAMES, type FieldName } from './comparators.js';
import type { Comparison } from './engine.js';
import { demographicsOf } from './from-patient.js';
import { reviewKind } from './review-task.js';

/** One of the two records a review asks about, as the caller may see it. */
export interface ReviewSide {
  readonly recordId: string;
  /** The record as stored now; absent when it is no longer indexed. */
  readonly patient?: Patient;
  /** The agency that holds the record. */
  readonly agency?: string;
  /** The Person the record is in now. */
  readonly personId?: string;
  /** Why the caller's agency may not see the record's values (the ISP's answer); absent when it may. */
  readonly withheld?: string;
}

export interface ReviewViewInput {
  readonly task: Task;
  /** The record the Task is about (`Task.focus`). */
  readonly record: ReviewSide;
  /** The record it may be the same person as (`candidate`). */
  readonly candidate: ReviewSide;
  /** The two records compared with the model in use now (absent when either is no longer indexed). */
  readonly comparison?: Comparison;
  /** P(same person) of that comparison under the model in use. */
  readonly probability?: number;
  /** The model in use, in words (`describeModel`). */
  readonly model: string;
}

/**
 * The values a reviewer compares, by the engine's field names, as the agency recorded them
 * (not normalised: "McDonald", "EH6 8QZ", "Flat 2/1, 14 Main St").
 */
export function fieldValues(patient: Patient): Partial<Record<FieldName, string>> {
  const d = demographicsOf(patient);
  const chi = patient.identifier?.find((i) => i.system === IdentifierSystems.chi)?.value;
  const values: Partial<Record<FieldName, string | undefined>> = {
    chi,
    given: d.given.length > 0 ? d.given.join(' ') : undefined,
    family: d.family,
    birthDate: d.birthDate,
    sex: d.gender,
    postcode: d.postcode,
    address: d.addressLine,
    town: d.town,
    phone: d.phone,
  };
  return Object.fromEntries(Object.entries(values).filter(([, v]) => v !== undefined && v !== ''));
}

/** The view as a FHIR Parameters resource (the answer of `$review`). */
export function reviewViewParameters(input: ReviewViewInput): Parameters {
  const { task, comparison } = input;
  const sides = [
    { role: 'record' as const, side: input.record },
    { role: 'candidate' as const, side: input.candidate },
  ];
  const values = sides.map(({ side }) => (side.patient && side.withheld === undefined ? fieldValues(side.patient) : {}));
  const byField = new Map(comparison?.fields.map((f) => [f.field, f] as const));
  const parameter: ParametersParameter[] = [
    { name: 'task', valueReference: { reference: `Task/${task.id}` } },
    { name: 'status', valueCode: task.status },
    { name: 'review-kind', valueCode: reviewKind(task) },
    ...(task.description ? [{ name: 'question', valueString: task.description }] : []),
    { name: 'model', valueString: input.model },
    ...(comparison
      ? [
          { name: 'score', valueDecimal: comparison.score },
          ...(input.probability !== undefined ? [{ name: 'probability', valueDecimal: round3(input.probability) }] : []),
          { name: 'outcome', valueCode: comparison.outcome },
          ...(comparison.namesSwapped ? [{ name: 'names-swapped', valueBoolean: true }] : []),
          ...(comparison.rule ? [{ name: 'rule', valueString: `${comparison.rule.rule}: ${comparison.rule.detail}` }] : []),
        ]
      : [{ name: 'note', valueString: 'One of the records is no longer indexed: there is nothing to compare it with.' }]),
    ...sides.map(({ role, side }) => ({
      name: 'side',
      part: [
        { name: 'role', valueCode: role },
        { name: 'patient', valueReference: { reference: `Patient/${side.recordId}` } },
        ...(side.agency ? [{ name: 'agency', valueReference: { reference: `Organization/${side.agency}` } }] : []),
        ...(side.personId ? [{ name: 'person', valueReference: { reference: `Person/${side.personId}` } }] : []),
        { name: 'indexed', valueBoolean: side.patient !== undefined },
        { name: 'shown', valueBoolean: side.patient !== undefined && side.withheld === undefined },
        ...(side.withheld !== undefined ? [{ name: 'withheld', valueString: side.withheld }] : []),
      ],
    })),
    ...FIELD_NAMES.flatMap((field): ParametersParameter[] => {
      const [mine, theirs] = [values[0]![field], values[1]![field]];
      const evidence = byField.get(field);
      if (mine === undefined && theirs === undefined && evidence === undefined) return [];
      return [
        {
          name: 'field',
          part: [
            { name: 'name', valueCode: field },
            ...(mine !== undefined ? [{ name: 'record', valueString: mine }] : []),
            ...(theirs !== undefined ? [{ name: 'candidate', valueString: theirs }] : []),
            ...(evidence
              ? [
                  { name: 'level', valueCode: evidence.level },
                  { name: 'weight', valueDecimal: evidence.weight },
                  ...(evidence.termFrequency !== undefined ? [{ name: 'term-frequency', valueDecimal: evidence.termFrequency }] : []),
                  ...(evidence.sharedHome !== undefined ? [{ name: 'shared-home', valueDecimal: evidence.sharedHome }] : []),
                ]
              : []),
          ],
        },
      ];
    }),
  ];
  return { resourceType: 'Parameters', parameter };
}

function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}
