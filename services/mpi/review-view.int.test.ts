/**
 * The side-by-side review view (`GET /fhir/Task/{id}/$review`) through the MPI's HTTP API
 * against a real Redis, with the demo partnership's signed ISPs: both records' values per
 * field with level and weight, read when asked (never stored in the Task), values of a
 * record the ISP keeps from the reviewer's agency left out, audited like every read.
 */
import type { Parameters, ParametersParameter, Task } from 'fhir/r4.js';
import { criteriaOf, entityRefs, startTestMpi, testChi, type PersonDetails, type TestMpi } from '../../test/mpi.js';

let mpi: TestMpi;
let taskId: string;

// Same names, birth year one off, moved within the district, no CHI at the GP cluster: the grey zone.
const chi = testChi('1984-03-22', 'male', 41);
const ruaridh: PersonDetails = { given: ['Ruaridh'], family: 'Fraser', birthDate: '1984-03-22', gender: 'male', postcode: 'EH7 5QT', line: '14 Brunswick Street', chi };
const ruaridhGp: PersonDetails = { ...ruaridh, birthDate: '1985-03-22', postcode: 'EH7 4HB', line: '3 Albion Road', chi: undefined };

beforeAll(async () => {
  mpi = await startTestMpi();
  await mpi.registered('nhs-lothian', 'RV-N-1', ruaridh);
  const gp = await mpi.registered('gp-leith-cluster', 'RV-G-1', ruaridhGp);
  expect(gp.outcome).toMatchObject({ outcome: 'review', candidate: 'Patient/nhs-lothian.RV-N-1' });
  taskId = gp.outcome.reviewTask!.slice('Task/'.length);
});

afterAll(async () => {
  await mpi.close();
});

const param = (view: Parameters, name: string): ParametersParameter | undefined => view.parameter?.find((p) => p.name === name);
const part = (p: ParametersParameter | undefined, name: string): ParametersParameter | undefined => p?.part?.find((x) => x.name === name);

/** The view's fields as `{ field: { record, candidate, level, weight } }`. */
function fields(view: Parameters): Record<string, { record?: string; candidate?: string; level?: string; weight?: number }> {
  return Object.fromEntries(
    (view.parameter ?? [])
      .filter((p) => p.name === 'field')
      .map((p) => [
        part(p, 'name')!.valueCode!,
        {
          ...(part(p, 'record') ? { record: part(p, 'record')!.valueString! } : {}),
          ...(part(p, 'candidate') ? { candidate: part(p, 'candidate')!.valueString! } : {}),
          ...(part(p, 'level') ? { level: part(p, 'level')!.valueCode!, weight: part(p, 'weight')!.valueDecimal! } : {}),
        },
      ]),
  );
}

function side(view: Parameters, role: 'record' | 'candidate'): ParametersParameter {
  return view.parameter!.find((p) => p.name === 'side' && part(p, 'role')?.valueCode === role)!;
}

describe('GET /fhir/Task/{id}/$review', () => {
  it('shows a reviewer both records’ values per field beside each field’s level and weight, audited as streamlined manual matching', async () => {
    const res = await mpi.get('nhs-lothian', `/fhir/Task/${taskId}/$review`);
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/application\/fhir\+json/);
    const view = res.body as Parameters;
    expect(view.resourceType).toBe('Parameters');
    expect(param(view, 'task')!.valueReference!.reference).toBe(`Task/${taskId}`);
    expect(param(view, 'status')!.valueCode).toBe('requested');
    expect(param(view, 'outcome')!.valueCode).toBe('review');
    expect(param(view, 'model')!.valueString).toMatch(/^matching model version 0/);
    expect(param(view, 'probability')!.valueDecimal).toBeGreaterThan(0);
    expect(part(side(view, 'record'), 'patient')!.valueReference!.reference).toBe('Patient/gp-leith-cluster.RV-G-1');
    expect(part(side(view, 'candidate'), 'agency')!.valueReference!.reference).toBe('Organization/nhs-lothian');
    expect(part(side(view, 'candidate'), 'shown')!.valueBoolean).toBe(true);

    const f = fields(view);
    expect(f.given).toMatchObject({ record: 'Ruaridh', candidate: 'Ruaridh', level: 'exact' });
    expect(f.given!.weight).toBeGreaterThan(0);
    expect(f.birthDate).toMatchObject({ record: '1985-03-22', candidate: '1984-03-22', level: 'year-slip' });
    expect(f.address).toMatchObject({ record: '3 Albion Road', candidate: '14 Brunswick Street' });
    // The CHI only one side holds: its value shown, no level (missing on one side is no evidence).
    expect(f.chi).toMatchObject({ candidate: chi, level: 'missing', weight: 0 });
    expect(f.chi!.record).toBeUndefined();

    const event = await mpi.auditOf(res);
    expect(event.outcome).toBe('0');
    expect(criteriaOf(event)).toEqual(['MI-L3', 'MI-L5']);
    expect(entityRefs(event)).toEqual(expect.arrayContaining([`Task/${taskId}`, 'Patient/gp-leith-cluster.RV-G-1', 'Patient/nhs-lothian.RV-N-1']));
  });

  it('leaves out the values of a record the ISP keeps from the reviewer’s agency, saying why, and keeps the evidence', async () => {
    // NHS Fife reviews (an NHS board), but the Lothian–Fife ISP lets only NHS Lothian's demographics reach it.
    const res = await mpi.get('nhs-fife', `/fhir/Task/${taskId}/$review`);
    expect(res.status).toBe(200);
    const view = res.body as Parameters;
    expect(part(side(view, 'record'), 'shown')!.valueBoolean).toBe(false);
    expect(part(side(view, 'record'), 'withheld')!.valueString).toMatch(/ISP does not let gp-leith-cluster's demographics flow to nhs-fife/);
    expect(part(side(view, 'candidate'), 'shown')!.valueBoolean).toBe(true);
    const f = fields(view);
    for (const field of Object.values(f)) expect(field.record).toBeUndefined();
    expect(f.given).toMatchObject({ candidate: 'Ruaridh', level: 'exact' });
    expect(f.postcode).toMatchObject({ candidate: 'EH7 5QT' });
    expect(JSON.stringify(view)).not.toContain('Albion');
    expect((await mpi.auditOf(res)).entity!.find((e) => e.what?.reference === 'Patient/gp-leith-cluster.RV-G-1')!.description).toBe('values withheld');
  });

  it('reads the records when asked: a value changed since the Task was raised shows, and the Task itself holds no values', async () => {
    await mpi.registered('nhs-lothian', 'RV-N-1', { ...ruaridh, phone: '0131 496 0123' }, 200);
    const view = (await mpi.get('edinburgh-social-work', `/fhir/Task/${taskId}/$review`)).body as Parameters;
    expect(fields(view).phone).toMatchObject({ candidate: '0131 496 0123' });
    const task = (await mpi.get('nhs-lothian', `/fhir/Task/${taskId}`)).body as Task;
    expect(task.status).toBe('requested');
    expect(JSON.stringify(task)).not.toMatch(/Ruaridh|Albion|Brunswick|0131/);
  });

  it('is for reviewers only: 403 without system/Task.review, audited as a refusal (SI-L3)', async () => {
    const res = await mpi.get('edinburgh-education', `/fhir/Task/${taskId}/$review`);
    expect(res.status).toBe(403);
    expect(res.body.resourceType).toBe('OperationOutcome');
    expect(criteriaOf(await mpi.auditOf(res))).toEqual(['SI-L3']);
  });

  it('answers 404 with an OperationOutcome for a Task that is not known', async () => {
    const res = await mpi.get('nhs-lothian', '/fhir/Task/no-such-task/$review');
    expect(res.status).toBe(404);
    expect(res.body.resourceType).toBe('OperationOutcome');
    expect((await mpi.auditOf(res)).outcome).toBe('4');
  });
});
