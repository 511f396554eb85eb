/**
 * A refused Bundle's problems, named by where they are in the input file: the
 * MPI says `Bundle.entry[4].resource.birthDate`, the user's file has it at
 * line 15 — Bundle n's `Bundle.entry[i]` is input record n × size + i.
 */
import type { OperationOutcome } from 'fhir/r4.js';
import type { Chunk } from './chunks.js';

/** Issues shown of a refusal; the rest are counted. */
export const MAX_SHOWN_ISSUES = 20;

const ENTRY = /^Bundle\.entry\[(\d+)\](?:\.resource)?\.?(.*)$/;

/** One line per issue (the first `max`), each naming the input record it is about when it is about one. */
export function issueLines(outcome: OperationOutcome | undefined, chunk: Chunk, max = MAX_SHOWN_ISSUES): string[] {
  const issues = outcome?.issue ?? [];
  const lines = issues.slice(0, max).map((issue) => {
    const text = issue.details?.text ?? issue.diagnostics ?? issue.code;
    const where = (issue.expression ?? []).map((e) => locate(e, chunk));
    return where.length ? `${where.join(', ')}: ${text}` : text;
  });
  if (issues.length > max) lines.push(`…and ${issues.length - max} more`);
  return lines;
}

/** `Bundle.entry[4].resource.birthDate` → `record 15 (line 15) birthDate`; other expressions as they are. */
export function locate(expression: string, chunk: Chunk): string {
  const m = ENTRY.exec(expression);
  if (!m) return expression;
  const i = Number(m[1]);
  const record = chunk.records[i];
  if (!record) return expression;
  const n = chunk.first + i;
  return `record ${n + 1} (${record.where})${m[2] ? ` ${m[2]}` : ''}`;
}
