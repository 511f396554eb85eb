/**
 * The evidence side of the audit service over HTTP with a real Redis and real tokens: the
 * auditor scope (401 / 403, audited as SI-L3), AuditEvent search with exact totals and paging
 * links, the streamed NDJSON export, the report in every format, documentary evidence, and bad
 * input answered with OperationOutcomes.
 */
import type { AuditEvent, Bundle } from 'fhir/r4.js';
import { serviceRouter } from '../shared/http/router.js';
import request from 'supertest';
import { readAuditTrailOf } from '../shared/audit/audit-client.js';
import { criteriaOfEvent, triggerOfEvent } from '../shared/audit/audit-event.js';
import { CodeSystems } from '../shared/fhir/systems.js';
import { createServiceApp } from '../shared/http/service-app.js';
import { startTestDirectory, type TestDirectory } from '../services/directory/test-directory.js';
import { createEvidenceContext, type EvidenceContext } from '../services/audit/evidence-context.js';
import { evidenceRoutes } from '../services/audit/evidence-routes.js';

let dir: TestDirectory;
let ctx: EvidenceContext;
let app: ReturnType<typeof createServiceApp>;
let auditor: { Authorization: string };

beforeAll(async () => {
  dir = await startTestDirectory();
  ctx = createEvidenceContext(dir.deps);
  const routes = serviceRouter();
  routes.use(evidenceRoutes(ctx));
  app = createServiceApp({ service: 'audit', redis: dir.redis, audit: dir.deps.audit, log: dir.deps.log, bodyLimit: '1mb', routes });
  auditor = { Authorization: `Bearer ${await dir.token('nhs-lothian', { scope: 'system/AuditEvent.read system/AuditEvent.attest' })}` };
  // The directory's fixture load and the token grants above are in the log: index them.
  await ctx.index.catchUp();
});

afterAll(async () => {
  await dir.close();
});

const auditOf = async (res: request.Response) => dir.auditOf(res.headers['x-request-id'] as string);

describe('the auditor scope', () => {
  it('refuses a request without a token (401) and a token without the auditor scope (403), each audited as SI-L3', async () => {
    const none = await request(app).get('/fhir/AuditEvent');
    expect(none.status).toBe(401);
    expect(none.body.resourceType).toBe('OperationOutcome');
    const education = await dir.token('edinburgh-education');
    const denied = await request(app).get('/evidence').set({ Authorization: `Bearer ${education}` });
    expect(denied.status).toBe(403);
    expect(criteriaOfEvent((await auditOf(denied))!)).toEqual(['SI-L3']);
  });

  it('serves the page shell without a token: it holds no data', async () => {
    const page = await request(app).get('/');
    expect(page.status).toBe(200);
    expect(page.headers['content-type']).toMatch(/text\/html/);
    expect(page.text).toContain('id="login-form"');
    expect(page.headers['content-security-policy']).toContain("script-src 'self'");
  });
});

describe('searching the log', () => {
  it('answers a searchset Bundle with the exact total, newest first, and paging links that keep the query', async () => {
    const res = await request(app).get('/fhir/AuditEvent?type=rest&_count=2').set(auditor);
    expect(res.status).toBe(200);
    const bundle = res.body as Bundle<AuditEvent>;
    expect(bundle.total).toBeGreaterThanOrEqual(2);
    expect(bundle.entry).toHaveLength(2);
    const [a, b] = bundle.entry!.map((e) => e.resource!.recorded);
    expect(a! >= b!).toBe(true);
    const next = bundle.link!.find((l) => l.relation === 'next')!.url;
    expect(next).toContain('type=rest');
    expect(new URL(next).searchParams.get('_cursor')).toBe(`after:${bundle.entry![1]!.resource!.id}`);
    expect(criteriaOfEvent((await auditOf(res))!)).toEqual([]); // reading the log is not itself evidence (SI-L4 comes from performance summaries)
    const count = await request(app).get('/fhir/AuditEvent?type=rest&_summary=count').set(auditor);
    expect(count.body.total).toBeGreaterThanOrEqual(bundle.total!);
    expect(count.body.entry).toBeUndefined();
  });

  it('entries appended between pages: following next links shows every entry once while the log grows', async () => {
    const before = ((await request(app).get('/fhir/AuditEvent?_count=1000').set(auditor)).body as Bundle<AuditEvent>).entry!.map((e) => e.resource!.id!);
    const seen: string[] = [];
    let url: string | undefined = '/fhir/AuditEvent?_count=7';
    while (url) {
      const res = await request(app).get(url).set(auditor);
      expect(res.status).toBe(200);
      const page = res.body as Bundle<AuditEvent>;
      seen.push(...(page.entry ?? []).map((e) => e.resource!.id!));
      // Each search is itself an exchange: once indexed, the log has grown by it at the top.
      await ctx.index.catchUp();
      const next = page.link?.find((l) => l.relation === 'next')?.url;
      url = next ? next.slice(new URL(next).origin.length) : undefined;
    }
    expect(new Set(seen).size).toBe(seen.length);
    expect(seen).toEqual(before.filter((id) => seen.includes(id)));
    expect(before.every((id) => seen.includes(id))).toBe(true);
  });

  it('POST _search combines the URL query with the form body, and refuses a paging parameter given in both', async () => {
    const got = (await request(app).get('/fhir/AuditEvent?type=110114&_count=3').set(auditor)).body as Bundle<AuditEvent>;
    const posted = await request(app).post('/fhir/AuditEvent/_search?type=110114').set(auditor).type('form').send({ _count: '3' });
    expect(posted.status).toBe(200);
    const bundle = posted.body as Bundle<AuditEvent>;
    expect(bundle.entry!.map((e) => e.resource!.id)).toEqual(got.entry!.map((e) => e.resource!.id));
    expect(bundle.total).toBe(got.total);
    const self = new URL(bundle.link!.find((l) => l.relation === 'self')!.url);
    expect([self.searchParams.get('type'), self.searchParams.get('_count')]).toEqual(['110114', '3']);
    // Different parameters AND together wherever they are given: a login is never a REST exchange.
    const both = await request(app).post('/fhir/AuditEvent/_search?type=110114').set(auditor).type('form').send({ type: 'rest' });
    expect((both.body as Bundle).total).toBe(0);
    const conflict = await request(app).post('/fhir/AuditEvent/_search?_count=2').set(auditor).type('form').send({ _count: '3' });
    expect(conflict.status).toBe(400);
    expect(conflict.body.resourceType).toBe('OperationOutcome');
    expect(JSON.stringify(conflict.body.issue)).toContain("'_count' is given both in the URL");
    expect(await auditOf(conflict)).toMatchObject({ outcome: '4' });
  });

  it('reads one AuditEvent by id, and 404s an id the log does not hold', async () => {
    const found = (await request(app).get('/fhir/AuditEvent?_count=1').set(auditor)).body as Bundle<AuditEvent>;
    const id = found.entry![0]!.resource!.id!;
    expect((await request(app).get(`/fhir/AuditEvent/${id}`).set(auditor)).body.id).toBe(id);
    expect((await request(app).get('/fhir/AuditEvent/1-999999').set(auditor)).status).toBe(404);
  });

  it.each([
    ['criterion=ZZ-L3', 'criterion'],
    ['date=soon', 'date'],
    ['outcome=great', 'outcome'],
    ['_count=lots', '_count'],
    ['_cursor=after:1-0', '_cursor'],
    ['_cursor=after:1-0&_offset=5', '_cursor'],
    ['flavour=mint', 'flavour'],
  ])('refuses %s with a 400 OperationOutcome naming %s', async (query, param) => {
    const res = await request(app).get(`/fhir/AuditEvent?${query}`).set(auditor);
    expect(res.status).toBe(400);
    expect(res.body.resourceType).toBe('OperationOutcome');
    expect(JSON.stringify(res.body.issue)).toContain(param);
    expect(await auditOf(res)).toMatchObject({ outcome: '4' });
  });

  it('exports every match as NDJSON, one AuditEvent per line, as many as the search total', async () => {
    await ctx.index.catchUp();
    const total = ((await request(app).get('/fhir/AuditEvent?type=110114&_summary=count').set(auditor)).body as Bundle).total!;
    const res = await request(app).get('/fhir/AuditEvent/$export?type=110114').set(auditor).buffer(true).parse((r, cb) => {
      let text = '';
      r.on('data', (c: Buffer) => (text += c.toString()));
      r.on('end', () => cb(null, text));
    });
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/application\/fhir\+ndjson/);
    const lines = (res.body as string).trim().split('\n').map((l) => JSON.parse(l) as AuditEvent);
    expect(lines.length).toBeGreaterThanOrEqual(total);
    expect(lines.every((e) => e.resourceType === 'AuditEvent' && e.type.code === '110114')).toBe(true);
    expect((await request(app).get('/fhir/AuditEvent/$export?_count=5').set(auditor)).status).toBe(400);
  });
});

describe('the maturity evidence report', () => {
  it('grades the 45 cells in JSON and shows what the fixture load demonstrated', async () => {
    const res = await request(app).get('/evidence').set(auditor);
    expect(res.status).toBe(200);
    const cells = (res.body.areas as { cells: { code: string; status: string; count: number }[] }[]).flatMap((a) => a.cells);
    expect(cells).toHaveLength(45);
    expect(cells.find((c) => c.code === 'GV-L1')?.status).toBe('documentary evidence needed');
  });

  it('answers CSV, a FHIR Bundle, HTML and PDF', async () => {
    const csv = await request(app).get('/evidence?format=csv').set(auditor);
    expect(csv.headers['content-type']).toMatch(/text\/csv/);
    expect(csv.text.split('\r\n')[0]).toMatch(/^area,area_title,area_highest_level,level,criterion,kind,status/);
    expect(csv.text.trim().split('\r\n')).toHaveLength(46);
    const fhir = await request(app).get('/evidence?format=fhir').set(auditor);
    expect(fhir.body).toMatchObject({ resourceType: 'Bundle', type: 'collection' });
    expect(fhir.body.entry[0].resource.resourceType).toBe('Composition');
    const html = await request(app).get('/evidence?format=html').set(auditor);
    expect(html.text).toContain('Maturity evidence report');
    const pdf = await request(app).get('/evidence?format=pdf').set(auditor).buffer(true).parse((r, cb) => {
      const chunks: Buffer[] = [];
      r.on('data', (c: Buffer) => chunks.push(c));
      r.on('end', () => cb(null, Buffer.concat(chunks)));
    });
    expect((pdf.body as Buffer).subarray(0, 5).toString()).toBe('%PDF-');
  });

  it('refuses an unknown format, a bad date, a period that ends before it starts and an unknown parameter (400)', async () => {
    for (const q of ['format=docx', 'since=last-week', 'since=2026-12-07&until=2026-12-06', 'colour=red']) {
      const res = await request(app).get(`/evidence?${q}`).set(auditor);
      expect(res.status).toBe(400);
      expect(res.body.resourceType).toBe('OperationOutcome');
    }
    // One day, given as since and until alike, is a period.
    expect((await request(app).get('/evidence?since=2026-12-06&until=2026-12-06').set(auditor)).status).toBe(200);
  });

  it('refuses a partnership the directory does not hold and the log never named (400), and reports one it does', async () => {
    const typo = await request(app).get('/evidence?partnership=lothian-hcsp').set(auditor);
    expect(typo.status).toBe(400);
    expect(typo.body.issue[0].details.text).toContain("'lothian-hcsp' is not a partnership");
    expect(typo.body.issue[0].expression).toEqual(['partnership']);
    // An agency is not a partnership.
    expect((await request(app).get('/evidence?partnership=nhs-lothian').set(auditor)).status).toBe(400);
    const known = await request(app).get('/evidence?partnership=lothian-hscp').set(auditor);
    expect(known.status).toBe(200);
    expect(known.body.scope.partnership).toBe('lothian-hscp');
  });
});

describe('documentary evidence', () => {
  const document = (code: string) => ({
    resourceType: 'DocumentReference',
    status: 'current',
    category: [{ coding: [{ system: CodeSystems.maturityCriterion, code }] }],
    description: 'Information sharing board terms of reference',
    date: '2026-11-30T00:00:00Z',
    authenticator: { display: 'J. Smith, Chief Officer' },
    content: [{ attachment: { url: 'https://example.org/tor.pdf', title: 'Terms of reference' } }],
  });

  it('attaches a document to a governance cell with its change record, and the report shows it', async () => {
    const res = await request(app).post('/fhir/DocumentReference').set(auditor).send(document('GV-L3'));
    expect(res.status).toBe(201);
    // Its change record went through the audit outbox into the log, under the request's id.
    const trail = await readAuditTrailOf(dir.redis, dir.keys, res.headers['x-request-id'] as string);
    expect(trail.some((e) => triggerOfEvent(e) === 'change' && e.entity?.some((x) => x.what?.reference === `DocumentReference/${res.body.id}`))).toBe(true);
    const report = (await request(app).get('/evidence').set(auditor)).body as { areas: { cells: { code: string; status: string; documents: { title: string }[] }[] }[] };
    const gv3 = report.areas.flatMap((a) => a.cells).find((c) => c.code === 'GV-L3')!;
    expect(gv3.status).toBe('documented');
    expect(gv3.documents[0]?.title).toBe('Information sharing board terms of reference');
  });

  it('refuses a document for a cell the log shows (422), and an auditor without the attest scope (403)', async () => {
    expect((await request(app).post('/fhir/DocumentReference').set(auditor).send(document('MA-L3'))).status).toBe(422);
    const readOnly = `Bearer ${await dir.token('nhs-lothian', { scope: 'system/AuditEvent.read' })}`;
    expect((await request(app).post('/fhir/DocumentReference').set({ Authorization: readOnly }).send(document('GV-L2'))).status).toBe(403);
  });
});
