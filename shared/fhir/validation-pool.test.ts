import type { Patient } from 'fhir/r4.js';
import { ValidationPool } from './validation-pool.js';
import { validityOf } from './validate.js';

const patient = (i: number): Patient => ({
  resourceType: 'Patient',
  identifier: [{ system: 'https://example.org/ids', value: `p${i}` }],
  name: [{ family: `Family${i}`, given: ['Given'] }],
  gender: i % 2 ? 'female' : 'male',
  birthDate: '1970-01-01',
});

/** 64 Patients, with R4 problems at 3 (gender not a code), 40 (bad date) and 63 (unknown element, not a Patient at 62). */
function batch(): unknown[] {
  const resources: unknown[] = Array.from({ length: 64 }, (_, i) => patient(i));
  resources[3] = { ...patient(3), gender: 7 };
  resources[40] = { ...patient(40), birthDate: '1970-13-45' };
  resources[62] = { resourceType: 'Observation', status: 'final', code: { text: 'x' } };
  resources[63] = { ...patient(63), favouriteColour: 'blue' };
  return resources;
}

describe('ValidationPool', () => {
  let pool: ValidationPool;
  afterEach(async () => {
    await pool.close();
  });

  it('gives every resource the verdict the inline validator gives, in order, from a worker thread', async () => {
    pool = new ValidationPool({ size: 1 });
    await pool.warmUp();
    expect(pool.threadsReady).toBe(1);
    const resources = batch();
    const results = await pool.validateEach(resources, 'Patient');
    expect(results).toEqual(resources.map((r) => validityOf(r, 'Patient')));
    expect(results.flatMap((r, i) => (r.valid ? [] : [i]))).toEqual([3, 40, 62, 63]);
  });

  it('names the offending element of each invalid entry by its FHIRPath', async () => {
    pool = new ValidationPool({ size: 1 });
    await pool.warmUp();
    const results = await pool.validateEach(batch(), 'Patient');
    const problem = (i: number) => {
      const r = results[i]!;
      if (r.valid) throw new Error(`entry ${i} passed`);
      return { status: r.status, expressions: r.issues.flatMap((issue) => issue.expression ?? []) };
    };
    expect(problem(3).expressions.join(' ')).toMatch(/gender/);
    expect(problem(40).expressions.join(' ')).toMatch(/birthDate/);
    expect(problem(62)).toMatchObject({ status: 422, expressions: ['resourceType'] });
    expect(problem(63).expressions.join(' ')).toMatch(/favouriteColour/);
  });

  it('gives the batch of a parsed body, sent to the worker as one JSON text, the inline verdicts, also where JSON text and objects could differ', async () => {
    pool = new ValidationPool({ size: 1 });
    await pool.warmUp();
    // As a request body parses: -0, a lone surrogate, an own "__proto__" key, 2^31 — each survives JSON text as JSON.parse reads it.
    const body = `[${JSON.stringify(batch()).slice(1, -1)},{"resourceType":"Patient","multipleBirthInteger":-0},{"resourceType":"Patient","name":[{"family":"\\ud800"}]},{"resourceType":"Patient","__proto__":{}},{"resourceType":"Patient","multipleBirthInteger":2147483648}]`;
    const resources = JSON.parse(body) as unknown[];
    const results = await pool.validateEach(resources, 'Patient', { parsedJson: true });
    expect(results).toEqual(resources.map((r) => validityOf(r, 'Patient')));
    expect(results.flatMap((r, i) => (r.valid ? [] : [i]))).toEqual([3, 40, 62, 63, 66, 67]);
  });

  it('splits a batch over several workers and keeps the entries in order', async () => {
    pool = new ValidationPool({ size: 2, minBatch: 8 });
    await pool.warmUp();
    expect(pool.threadsReady).toBe(2);
    const resources = batch();
    expect(await pool.validateEach(resources, 'Patient')).toEqual(resources.map((r) => validityOf(r, 'Patient')));
  });

  it('answers on the calling thread before the workers are ready, for small batches, and after close', async () => {
    pool = new ValidationPool({ size: 1 });
    const resources = batch();
    const expected = resources.map((r) => validityOf(r, 'Patient'));
    expect(await pool.validateEach(resources, 'Patient')).toEqual(expected);
    expect(await pool.validateEach(resources.slice(0, 5), 'Patient')).toEqual(expected.slice(0, 5));
    await pool.close();
    expect(pool.threadsReady).toBe(0);
    expect(await pool.validateEach(resources, 'Patient')).toEqual(expected);
  });

  it('shuts its threads down on close and can be closed twice', async () => {
    pool = new ValidationPool({ size: 2, minBatch: 8 });
    await pool.warmUp();
    const pending = pool.validateEach(batch(), 'Patient');
    await pool.close();
    // A batch in flight at close is still answered (finished on the calling thread if need be).
    expect((await pending).filter((r) => !r.valid)).toHaveLength(4);
    expect(pool.threadsReady).toBe(0);
    await pool.close();
  });

  it('validates one heavy resource on a worker thread, waiting for a cold pool to start one, while the event loop keeps turning', async () => {
    pool = new ValidationPool({ size: 1 });
    const heavy = { ...patient(1), name: Array.from({ length: 40_000 }, (_, i) => ({ family: `F${i}`, given: ['G'] })) };
    const bytes = JSON.stringify(heavy).length;
    // Cold: no worker yet, and heavy work is not done on the calling thread meanwhile.
    expect(await pool.validate(heavy, 'Patient', { bytes })).toEqual({ valid: true });
    expect(pool.threadsReady).toBe(1);

    let turns = 0;
    const timer = setInterval(() => turns++, 1);
    try {
      const verdict = await pool.validate({ ...heavy, birthDate: '2023-02-30' }, 'Patient', { bytes });
      expect(verdict).toMatchObject({ valid: false, status: 422 });
    } finally {
      clearInterval(timer);
    }
    // Inline, the validator would have held the event loop for the whole check: no timer could fire.
    expect(turns).toBeGreaterThan(0);
  });

  it('sends every resource to a worker when told all work is heavy (heavyBytes 0), as its JSON text when given it, with the inline verdict', async () => {
    pool = new ValidationPool({ size: 1, heavyBytes: 0 });
    await pool.warmUp();
    const invalid = { ...patient(2), birthDate: '2023-02-30', favouriteColour: 'blue' };
    for (const resource of [patient(1), invalid]) {
      const json = JSON.stringify(resource);
      // The text is what the worker validates: an object that disagreed with it would be ignored.
      expect(await pool.validate({ resourceType: 'Patient' }, 'Patient', { bytes: json.length, json })).toEqual(validityOf(resource, 'Patient'));
      expect(await pool.validate(resource, 'Patient', { bytes: json.length })).toEqual(validityOf(resource, 'Patient'));
    }
    expect(pool.threadsReady).toBe(1);
  });

  it('keeps light single resources on the calling thread', async () => {
    pool = new ValidationPool({ size: 1 });
    expect(await pool.validate(patient(1), 'Patient', { bytes: 300 })).toEqual({ valid: true });
    expect(pool.threadsReady).toBe(0);
  });

  it('answers a heavy batch of plain Patients on the calling thread, starting no worker, and sends a worker only the others', async () => {
    pool = new ValidationPool({ size: 1 });
    const plain = Array.from({ length: 64 }, (_, i) => patient(i));
    expect(await pool.validateEach(plain, 'Patient', { bytes: 1 << 20, parsedJson: true })).toEqual(plain.map(() => ({ valid: true })));
    expect(pool.threadsReady).toBe(0);
    const mixed = batch();
    expect(await pool.validateEach(mixed, 'Patient', { bytes: 1 << 20, parsedJson: true })).toEqual(mixed.map((r) => validityOf(r, 'Patient')));
    expect(pool.threadsReady).toBe(1);
  });
});
