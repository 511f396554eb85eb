import { isOperationOutcomeError } from '../../../shared/fhir/outcome.js';
import { IdentifierSystems } from '../../../shared/fhir/systems.js';
import { bucketsToRead, matchingRecordIds, ownerOfRecordId, planPatientSearch, rootsToRead, termsOf, type RecordSource } from './patient-search.js';

const context = {
  systemsByAgency: new Map([
    ['https://x/id/patient/sw', 'sw'],
    ['https://x/id/patient/nhs', 'nhs'],
  ]),
  recordIdOf: (agency: string, value: string) => `${agency}.${value}`,
};
const plan = (query: Record<string, string | string[]>) => planPatientSearch(query, context);

function refusal(fn: () => unknown): { status: number; code?: string } {
  try {
    fn();
  } catch (err) {
    if (isOperationOutcomeError(err)) return { status: err.status, code: err.outcome.issue[0]?.code };
    throw err;
  }
  throw new Error('expected a refusal');
}

describe('planPatientSearch', () => {
  it('reads an agency identifier as that record, the CHI as the CHI index, a bare value as both', () => {
    expect(plan({ identifier: 'https://x/id/patient/sw|SW-1' }).clauses[0]!.sources).toEqual([{ kind: 'record', id: 'sw.SW-1' }]);
    expect(plan({ identifier: `${IdentifierSystems.chi}|0101011234` }).clauses[0]!.sources).toEqual([{ kind: 'chi', blockingKey: 'c:0101011234' }]);
    expect(plan({ identifier: 'SW-1' }).clauses[0]!.sources).toEqual([
      { kind: 'chi', blockingKey: 'c:SW-1' },
      { kind: 'record', id: 'sw.SW-1' },
      { kind: 'record', id: 'nhs.SW-1' },
    ]);
    expect(plan({ identifier: 'https://elsewhere|1' }).clauses[0]!.sources).toEqual([]);
  });

  it('reads name as family or given, comma values as alternatives, repeated parameters as AND', () => {
    const p = plan({ name: 'Mac,rab', birthdate: ['ge2010', 'lt2015'] });
    expect(p.clauses).toHaveLength(3);
    expect(p.clauses[0]!.sources).toEqual([
      { kind: 'prefix', code: 'f', prefix: 'mac' },
      { kind: 'prefix', code: 'g', prefix: 'mac' },
      { kind: 'prefix', code: 'f', prefix: 'rab' },
      { kind: 'prefix', code: 'g', prefix: 'rab' },
    ]);
  });

  it('takes the result parameters every search takes', () => {
    expect(plan({ family: 'x', _count: '5', _offset: '10', _total: 'none' })).toMatchObject({ count: 5, offset: 10, total: false, summaryCount: false });
    expect(plan({ family: 'x', _summary: 'count' })).toMatchObject({ count: 0, total: true, summaryCount: true });
  });

  it('refuses gender alone (too costly), unknown parameters, modifiers and prefixes it does not serve', () => {
    expect(refusal(() => plan({ gender: 'male' }))).toEqual({ status: 400, code: 'too-costly' });
    expect(refusal(() => plan({}))).toEqual({ status: 400, code: 'too-costly' });
    expect(refusal(() => plan({ family: 'x', gender: 'banana' })).status).toBe(400);
    expect(refusal(() => plan({ colour: 'blue' })).status).toBe(400);
    expect(refusal(() => plan({ 'family:contains': 'x' })).status).toBe(400);
    expect(refusal(() => plan({ birthdate: 'sa2010' })).status).toBe(400);
    expect(refusal(() => plan({ birthdate: '2010-02-30' })).status).toBe(400);
    expect(refusal(() => plan({ identifier: 'https://x/id/patient/sw|' })).status).toBe(400);
  });

  it('refuses parameters named after Object.prototype members as unknown, never finding them', () => {
    for (const name of ['__proto__', 'constructor', 'toString', 'hasOwnProperty']) expect(refusal(() => plan({ family: 'x', [name]: '1' })).status).toBe(400);
  });
});

describe('reading the index for a plan', () => {
  it('reads a root only for one-letter prefixes and dates, then the buckets that can hold matches', () => {
    const p = plan({ family: 'm', given: 'ra', birthdate: 'ge2012' });
    expect(rootsToRead(p).sort()).toEqual(['~b', '~f']);
    const roots = new Map([
      ['~f', '\x1fma\x1fmo\x1fsm\x1f'],
      ['~b', '\x1f199\x1f200\x1f201\x1f'],
    ]);
    expect(bucketsToRead(p, roots).sort()).toEqual(['~b:201', '~f:ma', '~f:mo', '~g:ra']);
  });

  it('takes the terms of a bucket that start with the prefix, or whose date satisfies the comparison', () => {
    const buckets = new Map([
      ['~f:ma', '\x1fmacdonald\x1fmain\x1fmartin\x1f'],
      ['~b:201', '\x1f2011-05-01\x1f2012\x1f2014-03-07\x1f'],
    ]);
    const prefix: RecordSource = { kind: 'prefix', code: 'f', prefix: 'mac' };
    expect(termsOf(prefix, buckets)).toEqual(['f:macdonald']);
    const [dates] = plan({ birthdate: 'ge2012-06' }).clauses[0]!.sources;
    expect(termsOf(dates!, buckets)).toEqual(['b:2012', 'b:2014-03-07']);
  });

  it('ANDs clauses and ORs sources, in stable order', () => {
    const p = plan({ family: 'a,b', given: 'c' });
    const ids = (s: RecordSource): string[] => (s.kind === 'prefix' ? ({ a: ['3', '1'], b: ['2'], c: ['2', '3', '9'] } as Record<string, string[]>)[s.prefix] ?? [] : []);
    expect(matchingRecordIds(p, ids)).toEqual(['2', '3']);
  });

  it('tells a record id’s owner by the longest agency id it starts with', () => {
    expect(ownerOfRecordId('nhs-lothian.SCN-1', ['nhs', 'nhs-lothian'])).toBe('nhs-lothian');
    expect(ownerOfRecordId('nhs.SCN-1', ['nhs', 'nhs-lothian'])).toBe('nhs');
    expect(ownerOfRecordId('other.1', ['nhs'])).toBeUndefined();
  });
});
