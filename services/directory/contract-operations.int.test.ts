import type { Contract, Parameters, ParametersParameter } from 'fhir/r4.js';
import jwt from 'jsonwebtoken';
import request from 'supertest';
import { readDemoAgencyPrivateKey } from '../../fixtures/keys/demo-keys.js';
import { ispDigest } from '../../shared/isp/canonical.js';
import { signIsp } from '../../shared/isp/signatures.js';
import { criteriaOf, startTestDirectory, type TestDirectory } from './test-directory.js';

let dir: TestDirectory;
let nhs: string;

beforeAll(async () => {
  dir = await startTestDirectory();
  nhs = await dir.token('nhs-lothian');
});

afterAll(async () => {
  await dir.close();
});

const auth = (token: string) => ({ Authorization: `Bearer ${token}` });
const fhirJson = { 'Content-Type': 'application/fhir+json' };

function partnerStatus(result: Parameters, agency: string): Record<string, unknown> {
  const partner = result.parameter!.find(
    (p) => p.name === 'partner' && p.part?.some((x) => x.name === 'agency' && x.valueReference?.reference === `Organization/${agency}`),
  );
  const value = (x: ParametersParameter) => x.valueBoolean ?? x.valueCode ?? x.valueString ?? x.valueDateTime ?? x.valueReference?.reference;
  return Object.fromEntries((partner?.part ?? []).map((x) => [x.name, value(x)]));
}

const param = (result: Parameters, name: string) => result.parameter!.find((p) => p.name === name);

async function verify(id: string): Promise<request.Response> {
  return request(dir.app).get(`/fhir/Contract/${id}/$verify`).set(auth(nhs));
}

async function signAs(agency: string, contract: Contract, key = readDemoAgencyPrivateKey(agency)): Promise<request.Response> {
  const token = await dir.token(agency);
  const { jws } = signIsp(contract, agency, key);
  return request(dir.app)
    .post(`/fhir/Contract/${contract.id}/$sign`)
    .set(auth(token))
    .set(fhirJson)
    .send({ resourceType: 'Parameters', parameter: [{ name: 'signature', valueString: jws }] });
}

describe('Reading and verifying the ISP', () => {
  it('Reading the ISP shows a machine-readable ISP (IM-L3)', async () => {
    const res = await request(dir.app).get('/fhir/Contract/isp-lothian').set(auth(nhs));
    expect(res.status).toBe(200);
    expect(res.body.authority).toHaveLength(11);
    expect(criteriaOf(await dir.auditOf(res.headers['x-request-id'] as string))).toEqual(['IM-L3']);
  });

  it('$verify reports every partner signed with a valid signature, the review date, and shows IM-L4', async () => {
    const res = await verify('isp-lothian');
    expect(res.status).toBe(200);
    const result = res.body as Parameters;
    expect(result.parameter!.filter((p) => p.name === 'partner')).toHaveLength(11);
    expect(partnerStatus(result, 'police-scotland-e-division')).toMatchObject({ signed: true, valid: true });
    expect(param(result, 'allSigned')?.valueBoolean).toBe(true);
    expect(param(result, 'reviewDate')?.valueDateTime).toBe('2027-09-30');
    expect(param(result, 'reviewDatePassed')?.valueBoolean).toBe(false);
    expect(criteriaOf(await dir.auditOf(res.headers['x-request-id'] as string))).toEqual(['IM-L3', 'IM-L4']);
  });

  it('Answers 404 for an ISP that does not exist', async () => {
    const res = await verify('isp-nowhere');
    expect(res.status).toBe(404);
    expect(res.body.resourceType).toBe('OperationOutcome');
  });
});

describe('Changing and signing the ISP', () => {
  let amended: Contract;

  beforeAll(async () => {
    const current = (await request(dir.app).get('/fhir/Contract/isp-lothian-fife').set(auth(nhs))).body as Contract;
    const res = await request(dir.app)
      .put('/fhir/Contract/isp-lothian-fife')
      .set(auth(nhs))
      .set(fhirJson)
      .set('If-Match', `W/"${current.meta!.versionId}"`)
      .send({ ...current, applies: { ...current.applies, end: '2028-03-31' } });
    expect(res.status).toBe(200);
    amended = res.body as Contract;
  });

  it('A change of content voids every signature until the partners sign again', async () => {
    expect(amended.status).toBe('offered');
    const result = (await verify('isp-lothian-fife')).body as Parameters;
    expect(partnerStatus(result, 'nhs-fife')).toMatchObject({ signed: true, valid: false, reason: 'stale-content' });
    expect(param(result, 'allSigned')?.valueBoolean).toBe(false);
  });

  it('$sign adds a partner’s signature over the current content as a new version, replacing its old one', async () => {
    const res = await signAs('nhs-fife', amended);
    expect(res.status).toBe(200);
    expect(Number(res.body.meta.versionId)).toBe(Number(amended.meta!.versionId) + 1);
    const signers = (res.body as Contract).signer!.filter((s) => s.party.reference === 'Organization/nhs-fife');
    expect(signers).toHaveLength(1);
    const result = (await verify('isp-lothian-fife')).body as Parameters;
    expect(partnerStatus(result, 'nhs-fife')).toMatchObject({ signed: true, valid: true });
    expect(partnerStatus(result, 'fife-education')).toMatchObject({ valid: false, reason: 'stale-content' });
  });

  it('Refuses a signature over content that has since changed with 422', async () => {
    const original = (await request(dir.app).get('/fhir/Contract/isp-lothian-fife/_history/1').set(auth(nhs))).body as Contract;
    const res = await signAs('fife-education', { ...original, meta: amended.meta });
    expect(res.status).toBe(422);
    expect(res.body.issue[0].details.text).toMatch(/changed since/);
  });

  it('Refuses a signature made with another agency’s key with 422', async () => {
    const res = await signAs('fife-education', amended, readDemoAgencyPrivateKey('fife-social-work'));
    expect(res.status).toBe(422);
  });

  it('Refuses a signature from an agency that is not a partner with 403 (SI-L3), and keeps answering', async () => {
    // signIsp refuses a non-partner locally, so sign the payload by hand as a rogue client would.
    const jws = jwt.sign({ isp: amended.id, digest: ispDigest(amended), iat: Math.floor(Date.now() / 1000) }, readDemoAgencyPrivateKey('police-scotland-e-division'), {
      algorithm: 'ES256',
    });
    const res = await request(dir.app)
      .post('/fhir/Contract/isp-lothian-fife/$sign')
      .set(auth(await dir.token('police-scotland-e-division')))
      .set(fhirJson)
      .send({ resourceType: 'Parameters', parameter: [{ name: 'signature', valueString: jws }] });
    expect(res.status).toBe(403);
    expect(res.body.resourceType).toBe('OperationOutcome');
    const event = await dir.auditOf(res.headers['x-request-id'] as string);
    expect(event?.outcome).toBe('4');
    expect(criteriaOf(event)).toEqual(['SI-L3']);
    expect((await verify('isp-lothian-fife')).status).toBe(200);
  });

  it('Refuses a $sign without a signature parameter with 400', async () => {
    const token = await dir.token('fife-education');
    const res = await request(dir.app).post('/fhir/Contract/isp-lothian-fife/$sign').set(auth(token)).set(fhirJson).send({ resourceType: 'Parameters' });
    expect(res.status).toBe(400);
  });

  it('Refuses a $sign by a token without system/Contract.sign with 403', async () => {
    const token = await dir.token('fife-education', { scope: 'system/Contract.read' });
    const { jws } = signIsp(amended, 'fife-education', readDemoAgencyPrivateKey('fife-education'));
    const res = await request(dir.app)
      .post('/fhir/Contract/isp-lothian-fife/$sign')
      .set(auth(token))
      .set(fhirJson)
      .send({ resourceType: 'Parameters', parameter: [{ name: 'signature', valueString: jws }] });
    expect(res.status).toBe(403);
  });

  it('Once every partner has signed again the ISP is executed and verifies (IM-L4)', async () => {
    let contract = (await request(dir.app).get('/fhir/Contract/isp-lothian-fife').set(auth(nhs))).body as Contract;
    const partners = contract.authority!.map((a) => a.reference!.replace('Organization/', '')).filter((a) => a !== 'nhs-fife');
    for (const agency of partners) {
      const res = await signAs(agency, contract);
      expect(res.status).toBe(200);
      contract = res.body as Contract;
    }
    expect(contract.status).toBe('executed');
    const res = await verify('isp-lothian-fife');
    expect(param(res.body as Parameters, 'allSigned')?.valueBoolean).toBe(true);
    expect(criteriaOf(await dir.auditOf(res.headers['x-request-id'] as string))).toContain('IM-L4');
  });

  it('Refuses an ISP without a review date with 422', async () => {
    const current = (await request(dir.app).get('/fhir/Contract/isp-lothian').set(auth(nhs))).body as Contract;
    const res = await request(dir.app).put('/fhir/Contract/isp-lothian').set(auth(nhs)).set(fhirJson).send({ ...current, applies: { start: '2026-10-01' } });
    expect(res.status).toBe(422);
    expect(res.body.issue.flatMap((i: { expression?: string[] }) => i.expression ?? [])).toContain('Contract.applies.end');
  });

  it('Lets only the statutory partners amend the ISP (403 for education)', async () => {
    const token = await dir.token('edinburgh-education');
    const current = (await request(dir.app).get('/fhir/Contract/isp-lothian').set(auth(token))).body as Contract;
    const res = await request(dir.app).put('/fhir/Contract/isp-lothian').set(auth(token)).set(fhirJson).send(current);
    expect(res.status).toBe(403);
  });

  it('Creates a new ISP with POST: the server assigns its id, and it starts unsigned (offered)', async () => {
    const current = (await request(dir.app).get('/fhir/Contract/isp-lothian').set(auth(nhs))).body as Contract;
    const { id: _id, meta: _meta, signer: _signer, ...content } = current;
    const res = await request(dir.app).post('/fhir/Contract').set(auth(nhs)).set(fhirJson).send({ ...content, title: 'Draft ISP' });
    expect(res.status).toBe(201);
    expect(res.body.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(res.body.status).toBe('offered');
    expect(res.headers.location).toContain(`/Contract/${res.body.id}/_history/1`);
  });
});
