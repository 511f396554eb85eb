import type { OperationOutcome } from 'fhir/r4.js';
import { chunksOf } from './chunks.js';
import type { InputRecord } from './input.js';
import { issueLines, locate } from './issues.js';

const records: InputRecord[] = Array.from({ length: 30 }, (_, i) => ({ patient: { resourceType: 'Patient' }, where: `line ${i + 1}` }));
const second = chunksOf(records, 10)[1]!;

describe('naming a refused Bundle’s problems by their place in the input', () => {
  it('maps Bundle n’s entry i to input record n × size + i, with the rest of the path', () => {
    expect(locate('Bundle.entry[4].resource.birthDate', second)).toBe('record 15 (line 15) birthDate');
    expect(locate('Bundle.entry[0].request', second)).toBe('record 11 (line 11) request');
    expect(locate('Bundle.entry[9]', second)).toBe('record 20 (line 20)');
    expect(locate('Bundle.type', second)).toBe('Bundle.type');
    expect(locate('Bundle.entry[10].resource', second)).toBe('Bundle.entry[10].resource');
  });

  it('lists the first 20 issues with their places, and counts the rest', () => {
    const outcome: OperationOutcome = {
      resourceType: 'OperationOutcome',
      issue: [
        { severity: 'error', code: 'invalid', details: { text: 'The transaction was refused: 1 problem(s); nothing was registered' } },
        { severity: 'error', code: 'value', diagnostics: 'Invalid date', expression: ['Bundle.entry[4].resource.birthDate'] },
        ...Array.from({ length: 25 }, () => ({ severity: 'error' as const, code: 'invalid' as const, details: { text: 'x' }, expression: ['Bundle.entry[1].resource'] })),
      ],
    };
    const lines = issueLines(outcome, second);
    expect(lines[0]).toBe('The transaction was refused: 1 problem(s); nothing was registered');
    expect(lines[1]).toBe('record 15 (line 15) birthDate: Invalid date');
    expect(lines).toHaveLength(21);
    expect(lines[20]).toBe('…and 7 more');
  });
});
