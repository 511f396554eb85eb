import { substitute, UnknownVariableError, type Builtins } from './variables.js';

const builtins: Builtins = {
  runId: 'r1a2',
  now: () => new Date('2026-03-31T10:00:00Z'),
  uuid: () => '00000000-0000-4000-8000-000000000001',
};

describe('variable substitution', () => {
  const vars = { child: 'demo-child-1', created: { id: 'c9', meta: { versionId: '2' } }, count: 3 };

  it('replaces a variable inside text', () => {
    expect(substitute('CareTeam?subject=Patient/${child}', vars, builtins)).toBe('CareTeam?subject=Patient/demo-child-1');
  });

  it('keeps the type of a value when the whole string is one variable', () => {
    expect(substitute('${created}', vars, builtins)).toEqual({ id: 'c9', meta: { versionId: '2' } });
    expect(substitute('${count}', vars, builtins)).toBe(3);
  });

  it('gives a copy, so editing a substituted body never changes the saved variable', () => {
    const copy = substitute<unknown>('${created}', vars, builtins) as { id: string };
    copy.id = 'changed';
    expect(vars.created.id).toBe('c9');
  });

  it('follows paths into saved objects', () => {
    expect(substitute('W/"${created.meta.versionId}"', vars, builtins)).toBe('W/"2"');
  });

  it('substitutes deep inside objects and arrays, leaving keys alone', () => {
    const body = { resourceType: 'Patient', identifier: [{ value: 'x-${$run}' }], '${child}': 1 };
    expect(substitute(body, vars, builtins)).toEqual({ resourceType: 'Patient', identifier: [{ value: 'x-r1a2' }], '${child}': 1 });
  });

  it('offers the run id, a uuid, now and shifted dates', () => {
    expect(substitute('${$run}', {}, builtins)).toBe('r1a2');
    expect(substitute('${$uuid}', {}, builtins)).toBe('00000000-0000-4000-8000-000000000001');
    expect(substitute('${$now}', {}, builtins)).toBe('2026-03-31T10:00:00.000Z');
    expect(substitute('${$today}', {}, builtins)).toBe('2026-03-31');
    expect(substitute('${$today+1d}', {}, builtins)).toBe('2026-04-01');
    expect(substitute('${$today-31d}', {}, builtins)).toBe('2026-02-28');
  });

  it('writes $${ for a literal ${', () => {
    expect(substitute('cost $${x}', {}, builtins)).toBe('cost ${x}');
  });

  it('fails on an unknown variable, naming it', () => {
    expect(() => substitute('Patient/${nobody}', vars, builtins)).toThrow(UnknownVariableError);
    expect(() => substitute('${created.missing}', vars, builtins)).toThrow('unknown variable ${created.missing}');
    expect(() => substitute('${$yesterday}', vars, builtins)).toThrow(UnknownVariableError);
  });
});
