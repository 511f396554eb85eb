import type { Bundle, CareTeam, Practitioner, PractitionerRole } from 'fhir/r4.js';
import request from 'supertest';
import { generateKeyPair } from '../../shared/auth/keys.js';
import { Extensions } from '../../shared/fhir/systems.js';
import { criteriaOf, startTestDirectory, type TestDirectory } from './test-directory.js';

let dir: TestDirectory;
/** Statutory partner: may administer the whole directory. */
let nhs: string;
/** Care provider: maintains its own staff, reads the directory. */
let education: string;
/** Responder: reads the directory. */
let police: string;

beforeAll(async () => {
  dir = await startTestDirectory();
  [nhs, education, police] = await Promise.all([dir.token('nhs-lothian'), dir.token('edinburgh-education'), dir.token('police-scotland-e-division')]);
});

afterAll(async () => {
  await dir.close();
});

const auth = (token: string) => ({ Authorization: `Bearer ${token}` });
const fhirJson = { 'Content-Type': 'application/fhir+json' };

const practitioner = (family: string): Practitioner => ({ resourceType: 'Practitioner', active: true, name: [{ family, given: ['Test'] }] });

async function expectOutcome(res: request.Response, status: number) {
  expect(res.status).toBe(status);
  expect(res.headers['content-type']).toMatch(/application\/fhir\+json/);
  expect(res.body.resourceType).toBe('OperationOutcome');
  const event = await dir.auditOf(res.headers['x-request-id'] as string);
  expect(event?.outcome).toBe('4');
  expect((await request(dir.app).get('/health')).status).toBe(200);
}

describe('Named Person / Lead Professional look-up', () => {
  it('CareTeam?subject= returns the person’s Named Person and Lead Professional with their contact details (PD-L2/PD-L3)', async () => {
    const res = await request(dir.app).get('/fhir/CareTeam?subject=Patient/demo-child-1').set(auth(police));
    expect(res.status).toBe(200);
    const bundle = res.body as Bundle;
    expect(bundle.type).toBe('searchset');
    expect(bundle.total).toBe(1);
    const matched = bundle.entry!.filter((e) => e.search?.mode === 'match').map((e) => e.resource as CareTeam);
    expect(matched.map((t) => t.id)).toEqual(['careteam-demo-child-1']);
    const roles = bundle.entry!.filter((e) => e.search?.mode === 'include').map((e) => e.resource as PractitionerRole);
    expect(roles.map((r) => r.id).sort()).toEqual(['role-fiona-macleod', 'role-ross-campbell']);
    for (const role of roles) expect(role.telecom?.some((t) => t.system === 'phone' && t.value)).toBe(true);

    const event = await dir.auditOf(res.headers['x-request-id'] as string);
    expect(criteriaOf(event)).toEqual(['PD-L2', 'PD-L3']);
    expect(JSON.stringify(event?.entity)).toContain('Patient/demo-child-1');
  });

  it('Accepts a bare patient id and the form-encoded POST _search', async () => {
    const get = await request(dir.app).get('/fhir/CareTeam?subject=demo-child-1').set(auth(police));
    expect(get.body.total).toBe(1);
    const post = await request(dir.app).post('/fhir/CareTeam/_search').set(auth(police)).type('form').send({ subject: 'Patient/demo-child-1' });
    expect(post.status).toBe(200);
    expect(post.body.total).toBe(1);
  });

  it('Reading a Named Person’s PractitionerRole is a contact look-up (PD-L2/PD-L3)', async () => {
    const res = await request(dir.app).get('/fhir/PractitionerRole/role-aileen-fraser').set(auth(police));
    expect(res.status).toBe(200);
    expect(res.body.telecom.length).toBeGreaterThan(0);
    expect(res.headers.etag).toBe(`W/"${res.body.meta.versionId}"`);
    expect(criteriaOf(await dir.auditOf(res.headers['x-request-id'] as string))).toEqual(['PD-L2', 'PD-L3']);
  });

  it('Finds an agency’s staff and a partnership’s agencies by search', async () => {
    const staff = await request(dir.app).get('/fhir/PractitionerRole?organization=Organization/edinburgh-education').set(auth(police));
    expect(staff.body.entry.map((e: { resource: PractitionerRole }) => e.resource.organization?.reference)).toEqual(
      expect.arrayContaining(['Organization/edinburgh-education']),
    );
    const fife = await request(dir.app).get('/fhir/Organization?partof=fife-hscp').set(auth(police));
    expect(fife.body.total).toBe(4);
    const police_ = await request(dir.app).get('/fhir/Organization?type=https://fhir.infoshare.scot/CodeSystem/agency-type|police').set(auth(police));
    expect(police_.body.entry.map((e: { resource: { id: string } }) => e.resource.id)).toEqual(['police-scotland-e-division']);
  });

  it('Refuses a search parameter it does not support with 400 rather than returning everything', async () => {
    await expectOutcome(await request(dir.app).get('/fhir/CareTeam?patient=demo-child-1').set(auth(police)), 400);
  });
});

describe('Create, read, update, history', () => {
  it('Creates with a server id, reads, updates with If-Match, and keeps every version', async () => {
    const created = await request(dir.app).post('/fhir/Practitioner').set(auth(education)).set(fhirJson).send(practitioner('Versioned'));
    expect(created.status).toBe(201);
    const id = created.body.id as string;
    expect(created.headers.location).toMatch(new RegExp(`/fhir/Practitioner/${id}/_history/1$`));
    expect(created.headers.etag).toBe('W/"1"');

    const updated = await request(dir.app)
      .put(`/fhir/Practitioner/${id}`)
      .set(auth(education))
      .set(fhirJson)
      .set('If-Match', 'W/"1"')
      .send({ ...practitioner('Renamed'), id });
    expect(updated.status).toBe(200);
    expect(updated.body.meta.versionId).toBe('2');

    const history = await request(dir.app).get(`/fhir/Practitioner/${id}/_history`).set(auth(police));
    expect(history.body.type).toBe('history');
    expect(history.body.entry.map((e: { resource: Practitioner }) => e.resource.name?.[0]?.family)).toEqual(['Renamed', 'Versioned']);

    const v1 = await request(dir.app).get(`/fhir/Practitioner/${id}/_history/1`).set(auth(police));
    expect(v1.status).toBe(200);
    expect(v1.body.name[0].family).toBe('Versioned');
  });

  it('Refuses an update with a stale If-Match with 412', async () => {
    const created = await request(dir.app).post('/fhir/Practitioner').set(auth(education)).set(fhirJson).send(practitioner('Stale'));
    const id = created.body.id as string;
    const put = (ifMatch: string) =>
      request(dir.app).put(`/fhir/Practitioner/${id}`).set(auth(education)).set(fhirJson).set('If-Match', ifMatch).send({ ...practitioner('Stale'), id, active: false });
    expect((await put('W/"1"')).status).toBe(200);
    await expectOutcome(await put('W/"1"'), 412);
  });

  it('Honours If-Match as HTTP writes it: * (the resource exists) and a list of versions (any of them)', async () => {
    const id = (await request(dir.app).post('/fhir/Practitioner').set(auth(education)).set(fhirJson).send(practitioner('Listed'))).body.id as string;
    const put = (ifMatch: string, family: string) => request(dir.app).put(`/fhir/Practitioner/${id}`).set(auth(education)).set(fhirJson).set('If-Match', ifMatch).send({ ...practitioner(family), id });
    // Both were a 400 "not a version ETag" until session 24.
    expect((await put('*', 'Starred')).body.meta.versionId).toBe('2');
    expect((await put('W/"9", W/"2"', 'Listed again')).body.meta.versionId).toBe('3');
    await expectOutcome(await put('W/"1", W/"2"', 'Stale list'), 412);
    await expectOutcome(await put('W/"3", junk', 'Junk'), 400);
    const missing = await request(dir.app).put('/fhir/Practitioner/never-created-starred').set(auth(education)).set(fhirJson).set('If-Match', '*').send({ ...practitioner('Nobody'), id: 'never-created-starred' });
    await expectOutcome(missing, 412);
    expect((await request(dir.app).get('/fhir/Practitioner/never-created-starred').set(auth(police))).status).toBe(404);
    expect((await request(dir.app).get(`/fhir/Practitioner/${id}`).set(auth(police))).body.name[0].family).toBe('Listed again');
  });

  it('Honours If-None-Match on an update: * creates only what does not exist, versions exclude those', async () => {
    const id = 'created-by-put-once';
    const put = (ifNoneMatch: string, family: string) => request(dir.app).put(`/fhir/Practitioner/${id}`).set(auth(education)).set(fhirJson).set('If-None-Match', ifNoneMatch).send({ ...practitioner(family), id });
    // Ignored until session 24: the second create-only PUT overwrote the first.
    expect((await put('*', 'First')).status).toBe(201);
    await expectOutcome(await put('*', 'Second'), 412);
    await expectOutcome(await put('W/"1"', 'Second'), 412);
    expect((await put('W/"7"', 'Second')).body.meta.versionId).toBe('2');
    expect((await request(dir.app).get(`/fhir/Practitioner/${id}/_history`).set(auth(police))).body.entry.map((e: { resource: Practitioner }) => e.resource.name?.[0]?.family)).toEqual(['Second', 'First']);
    // A create (POST) does not evaluate it: refused, not ignored.
    await expectOutcome(await request(dir.app).post('/fhir/Practitioner').set(auth(education)).set(fhirJson).set('If-None-Match', '*').send(practitioner('Posted')), 400);
  });

  it('Reads a body whose charset is UTF-8 by any of its names; refuses another charset (415), a parameter twice (400), a patch document (415)', async () => {
    const post = (contentType: string) => request(dir.app).post('/fhir/Practitioner').set(auth(education)).set('Content-Type', contentType).send(JSON.stringify(practitioner('Charset')));
    for (const contentType of ['application/fhir+json; charset=UTF-8', 'application/fhir+json;charset=utf8', 'application/fhir+json; charset="utf-8"', 'application/json; charset=UTF8', 'application/fhir+json; fhirVersion=4.0; charset=utf-8']) {
      expect([contentType, (await post(contentType)).status]).toEqual([contentType, 201]);
    }
    await expectOutcome(await post('application/fhir+json; charset=latin1'), 415);
    await expectOutcome(await post('application/fhir+json; charset=utf-8; charset=latin1'), 400);
    await expectOutcome(await post('application/merge-patch+json'), 415);
    await expectOutcome(await post('application/vnd.example+json'), 415);
  });

  it('Answers Accept: application/*+json in FHIR JSON', async () => {
    const res = await request(dir.app).get('/fhir/Organization/nhs-lothian').set(auth(police)).set('Accept', 'application/*+json');
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^application\/fhir\+json/);
  });

  it('Refuses a read whose parameters ask for less than the whole resource, unless the client prefers lenient handling; takes _summary=false', async () => {
    const read = (query: string) => request(dir.app).get(`/fhir/Organization/nhs-lothian?${query}`).set(auth(police));
    const refused = await read('_elements=name');
    await expectOutcome(refused, 400);
    expect(refused.body.issue[0].expression).toEqual(['_elements']);
    await expectOutcome(await read('_summary=true'), 400);
    const lenient = await read('_summary=true').set('Prefer', 'handling=lenient');
    expect(lenient.status).toBe(200);
    expect(lenient.body).toMatchObject({ resourceType: 'Organization', id: 'nhs-lothian' });
    expect((await read('_format=json&_pretty=true')).status).toBe(200);
    // _summary=false asks for the whole resource (HAPI's summaryMode(FALSE)): the read answers it.
    const whole = await read('_summary=false');
    expect(whole.status).toBe(200);
    expect(whole.body).toMatchObject({ resourceType: 'Organization', id: 'nhs-lothian' });
    expect((await request(dir.app).get('/fhir/Organization/nhs-lothian/_history?_summary=false').set(auth(police))).status).toBe(200);
  });

  it('Answers 404 for an unknown resource and an unknown version', async () => {
    await expectOutcome(await request(dir.app).get('/fhir/Practitioner/no-such-practitioner').set(auth(police)), 404);
    await expectOutcome(await request(dir.app).get('/fhir/Organization/nhs-lothian/_history/99').set(auth(police)), 404);
  });

  it('Refuses malformed JSON with 400', async () => {
    const res = await request(dir.app).post('/fhir/Practitioner').set(auth(education)).set(fhirJson).send('{"resourceType": "Practitioner",');
    await expectOutcome(res, 400);
  });

  it('Refuses the wrong resourceType with 422', async () => {
    const res = await request(dir.app).post('/fhir/Practitioner').set(auth(education)).set(fhirJson).send({ resourceType: 'Patient', name: [{ family: 'X' }] });
    await expectOutcome(res, 422);
    expect(res.body.issue[0].expression).toEqual(['resourceType']);
  });

  it('Refuses invalid FHIR with 422 naming each problem', async () => {
    const res = await request(dir.app)
      .post('/fhir/Practitioner')
      .set(auth(education))
      .set(fhirJson)
      .send({ resourceType: 'Practitioner', name: 'Dr Who', favouriteColour: 'blue' });
    await expectOutcome(res, 422);
    const expressions = (res.body.issue as { expression?: string[] }[]).flatMap((i) => i.expression ?? []);
    expect(expressions).toEqual(expect.arrayContaining(['Practitioner.name', 'Practitioner.favouriteColour']));
  });

  it('Refuses a body over the size limit with 413', async () => {
    const huge = { ...practitioner('Big'), text: { status: 'generated', div: `<div xmlns="http://www.w3.org/1999/xhtml">${'x'.repeat(1_200_000)}</div>` } };
    await expectOutcome(await request(dir.app).post('/fhir/Practitioner').set(auth(education)).set(fhirJson).send(huge), 413);
  });

  it('Refuses an update whose body id differs from the URL with 400', async () => {
    const res = await request(dir.app).put('/fhir/Practitioner/prac-aileen-fraser').set(auth(education)).set(fhirJson).send({ ...practitioner('X'), id: 'other' });
    await expectOutcome(res, 400);
  });
});

describe('Who may change what', () => {
  it('Refuses a write without the write scope with 403 (police may not assign a Named Person)', async () => {
    const res = await request(dir.app)
      .post('/fhir/CareTeam')
      .set(auth(police))
      .set(fhirJson)
      .send({ resourceType: 'CareTeam', status: 'active', subject: { reference: 'Patient/demo-child-1' } });
    await expectOutcome(res, 403);
    expect(criteriaOf(await dir.auditOf(res.headers['x-request-id'] as string))).toEqual(['SI-L3']);
  });

  it('Lets an agency maintain its own staff’s roles but not another agency’s (403, SI-L3)', async () => {
    const own = await request(dir.app).get('/fhir/PractitionerRole/role-aileen-fraser').set(auth(education));
    const mine = await request(dir.app)
      .put('/fhir/PractitionerRole/role-aileen-fraser')
      .set(auth(education))
      .set(fhirJson)
      .send({ ...own.body, availabilityExceptions: 'Term time only' });
    expect(mine.status).toBe(200);

    const other = await request(dir.app).get('/fhir/PractitionerRole/role-fiona-macleod').set(auth(education));
    const theirs = await request(dir.app)
      .put('/fhir/PractitionerRole/role-fiona-macleod')
      .set(auth(education))
      .set(fhirJson)
      .send({ ...other.body, telecom: [{ system: 'phone', value: '0131 000 0000' }] });
    await expectOutcome(theirs, 403);
    expect(criteriaOf(await dir.auditOf(theirs.headers['x-request-id'] as string))).toEqual(['SI-L3']);
  });

  it('Refuses to register an agency key that carries its private part with 422', async () => {
    const { signingKey } = generateKeyPair('ES256');
    const org = await request(dir.app).get('/fhir/Organization/edinburgh-housing').set(auth(nhs));
    const leaked = {
      ...org.body,
      extension: [{ url: Extensions.agencyPublicJwk, valueString: JSON.stringify(signingKey.privateKey.export({ format: 'jwk' })) }],
    };
    const res = await request(dir.app).put('/fhir/Organization/edinburgh-housing').set(auth(nhs)).set(fhirJson).send(leaked);
    await expectOutcome(res, 422);
    expect(res.body.issue[0].details.text).toContain('public half only');
  });
});

describe('GET /fhir/metadata', () => {
  it('Describes every served type with its search parameters and the ISP operations, without a token', async () => {
    const res = await request(dir.app).get('/fhir/metadata');
    expect(res.status).toBe(200);
    expect(res.body.resourceType).toBe('CapabilityStatement');
    const resources = res.body.rest[0].resource as { type: string; searchParam?: { name: string }[]; operation?: { name: string }[] }[];
    expect(resources.map((r) => r.type)).toEqual(['Organization', 'Endpoint', 'Practitioner', 'PractitionerRole', 'CareTeam', 'Contract']);
    expect(resources.find((r) => r.type === 'CareTeam')?.searchParam?.map((p) => p.name)).toEqual(expect.arrayContaining(['subject', 'participant', 'category']));
    expect(resources.find((r) => r.type === 'Contract')?.operation?.map((o) => o.name)).toEqual(['sign', 'verify']);
  });
});
