/**
 * The break-glass notice is durable: written with the read's own audit record, sent by the plans service's worker
 * with the hub's own credentials, retried while the alerts service cannot be reached, each attempt audited — against
 * a real Redis and a real alerts service over HTTP that comes up only after the read. And a notice whose job was never
 * queued (the service died between the read's transaction and the add) is queued by the sweeper when the service
 * starts again, once.
 */
import { createServer } from 'node:net';
import type { Bundle, CarePlan, Flag } from 'fhir/r4.js';
import request from 'supertest';
import { readAuditTrailOf } from '../../shared/audit/audit-client.js';
import { requestDetailsOfEvent, triggerOfEvent } from '../../shared/audit/audit-event.js';
import { IdentifierSystems } from '../../shared/fhir/systems.js';
import { listen, type Listening } from '../../shared/runtime/listen.js';
import { until } from '../../test/hub-process-control.js';
import { carePlan, startTestPlans, subjectOf, type TestPlans } from '../../test/plans.js';
import { loadPlansConfig } from './config.js';
import { PlansKeys } from './keys.js';
import { BreakGlassNotices, noticeIdOf, type BreakGlassNoticeRecord } from './break-glass-notices.js';
import { plansService } from './module.js';
import { BREAK_GLASS_NOTICES_QUEUE, BreakGlassNoticeQueue, type BreakGlassNoticeJobData } from './workers/break-glass-notices.js';
import { openQueue } from '../../shared/queue/queues.js';

let plans: TestPlans;
let alertsPort: number;
let alertsServer: Listening | undefined;
const CHI = '1403231206';

/** A port nothing listens on yet (the alerts service comes up there later). */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

beforeAll(async () => {
  alertsPort = await freePort();
  plans = await startTestPlans({ INFOSHARE_ALERTS_URL: `http://127.0.0.1:${alertsPort}` });
  await plans.mpi.registered('edinburgh-social-work', 'demo-child-1', { given: ['Ailsa'], family: 'Morrison', birthDate: '2023-03-14', gender: 'female', postcode: 'EH6 8BN', chi: CHI });
});

afterAll(async () => {
  await alertsServer?.close();
  await plans.close();
});

it("writes the NP/LP's notice with the break-glass read's own record, retries it while the alerts service is down, and sends it once it is up — raised by the hub, not with the clinician's token", async () => {
  const created = await plans.post('edinburgh-social-work', '/fhir/CarePlan', carePlan(subjectOf({ agency: 'edinburgh-social-work', local: 'demo-child-1' })));
  const plan = created.body as CarePlan;
  // A clinician whose token may read plans but not raise alerts: the notice does not depend on it.
  const read = await request(plans.app)
    .get(`/fhir/CarePlan/${plan.id}`)
    .set({ ...(await plans.auth({ agency: 'rie-emergency', scope: 'system/CarePlan.read' })), 'X-Purpose-Of-Use': 'BTG', 'X-Break-Glass-Reason': 'unresponsive on arrival' });
  expect(read.status).toBe(200);
  const requestId = read.headers['x-request-id'] as string;
  const [link] = await plans.mpi.store.getLinks(['edinburgh-social-work.demo-child-1']);
  const noticeId = noticeIdOf(requestId, link!.personId);

  // Written with the read: the notice is there, pending, and the read's own record reached the audit trail.
  const notices = new BreakGlassNotices(plans.mpi.dir.redis, plans.mpi.dir.keys);
  expect(await notices.notice(noticeId)).toMatchObject({ state: 'pending', notice: { agencyId: 'rie-emergency', reason: 'unresponsive on arrival', read: [`CarePlan/${plan.id}`] } });
  const trail = () => readAuditTrailOf(plans.mpi.dir.redis, plans.mpi.dir.keys, requestId);
  expect((await trail()).some((e) => e.purposeOfEvent?.[0]?.coding?.[0]?.code === 'BTG')).toBe(true);

  // The alerts service is down: the worker's attempt fails, is audited, and the notice waits to be retried.
  const failedCall = (e: Awaited<ReturnType<typeof trail>>[number]) => triggerOfEvent(e) === 'outbound' && e.outcome === '8';
  await until('a failed attempt to send the notice', async () => (await trail()).some(failedCall), 20_000);
  expect((await notices.notice(noticeId))?.state).toBe('pending');

  // It comes up: the next attempt sends the notice, and the NP/LP's agency finds it.
  alertsServer = await listen(await plans.alerts(), alertsPort, '127.0.0.1');
  await until('the notice sent', async () => (await notices.notice(noticeId))?.state === 'sent', 30_000);
  const sent = (await trail()).filter((e) => triggerOfEvent(e) === 'outbound' && e.outcome === '0');
  expect(sent).toHaveLength(1);
  expect(requestDetailsOfEvent(sent[0]!).sent).toBeDefined();
  const flags = await request(await plans.alerts())
    .get(`/fhir/Flag?subject=${encodeURIComponent(`${IdentifierSystems.chi}|${CHI}`)}`)
    .set(await plans.auth('edinburgh-social-work'));
  const notice = ((flags.body as Bundle).entry ?? []).map((e) => e.resource as Flag).find((f) => f.category?.[0]?.coding?.[0]?.code === 'break-glass-access');
  expect(notice?.code?.coding?.[0]?.code).toBe('BTG');
  expect(notice?.code?.text).toContain('unresponsive on arrival');
}, 90_000);

it('queues, when the service starts again, a notice written with its read whose job was never added (the service died in between) — once, and forgets a marker whose notice is not stored', async () => {
  alertsServer ??= await listen(await plans.alerts(), alertsPort, '127.0.0.1');
  const { redis, keys } = plans.mpi.dir;
  const [link] = await plans.mpi.store.getLinks(['edinburgh-social-work.demo-child-1']);
  const requestId = `died-before-queueing-${Date.now()}`;
  const agent = { clientId: 'rie-emergency', agency: 'rie-emergency', partnership: 'lothian-hscp' };
  const notice: BreakGlassNoticeRecord = {
    id: noticeIdOf(requestId, link!.personId),
    requestId,
    agent,
    agencyId: 'rie-emergency',
    personId: link!.personId,
    reason: 'found collapsed, no history available',
    read: ['CarePlan/unseen'],
    at: new Date().toISOString(),
  };
  // What the break-glass read's transaction leaves when the process dies before its add: the record, the notice, its marker.
  const notices = new BreakGlassNotices(redis, keys);
  await notices.recordWithNotices({ requestId, service: 'plans', type: 'rest', subtype: 'read', action: 'R', outcome: '0', agent, entities: [], criteria: [] }, [notice]);
  await redis.sadd(new PlansKeys(keys).breakGlassUnqueued, 'btg-nothing-stored');
  expect(await notices.unqueued()).toEqual(expect.arrayContaining([notice.id, 'btg-nothing-stored']));

  // The service starts again: its sweeper queues the notice (job id = notice id) and the worker sends it.
  const restarted = await plansService.createService(plans.mpi.dir.deps, loadPlansConfig({ INFOSHARE_ALERTS_URL: `http://127.0.0.1:${alertsPort}` }));
  const queue = openQueue<BreakGlassNoticeJobData, unknown>({ redis, keys }, BREAK_GLASS_NOTICES_QUEUE);
  try {
    await until('the swept notice sent', async () => (await notices.notice(notice.id))?.state === 'sent', 20_000);
    expect(await notices.unqueued()).toEqual([]);
    expect((await queue.getJob(notice.id))?.id).toBe(notice.id);
    // Swept again (a marker left by an add whose clearing failed): the job exists, nothing is queued or sent twice.
    await redis.sadd(new PlansKeys(keys).breakGlassUnqueued, notice.id);
    const sweeper = new BreakGlassNoticeQueue({ redis, keys }, notices);
    expect(await sweeper.sweep()).toBe(1);
    await sweeper.close();
    expect((await queue.getJobs(['waiting', 'delayed', 'active', 'completed', 'failed'])).filter((j) => j.data.noticeId === notice.id)).toHaveLength(1);
    const sent = (await readAuditTrailOf(redis, keys, requestId)).filter((e) => triggerOfEvent(e) === 'outbound' && e.outcome === '0');
    expect(sent).toHaveLength(1);
    // The NP/LP's agency finds it once, saying who read, when and why.
    const flags = await request(await plans.alerts())
      .get(`/fhir/Flag?subject=${encodeURIComponent(`${IdentifierSystems.chi}|${CHI}`)}`)
      .set(await plans.auth('edinburgh-social-work'));
    const texts = ((flags.body as Bundle).entry ?? []).map((e) => (e.resource as Flag).code?.text ?? '').filter((t) => t.includes(notice.reason));
    expect(texts).toEqual([`Organization/rie-emergency (rie-emergency) read this person's shared record under break-glass at ${notice.at}: "${notice.reason}" (CarePlan/unseen)`]);
  } finally {
    await queue.close();
    await restarted.close();
  }
});
