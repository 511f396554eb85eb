/**
 * The performance summary as SI-L4 evidence, on a real Redis: a summary that
 * captured a service's metrics claims SI-L4 in its audit record; one for which
 * every service was unreachable is still recorded, but claims nothing. The first summary is
 * taken when asked for, not only at the end of the first interval.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Redis } from 'ioredis';
import { RedisAuditSink } from '../../shared/audit/audit-client.js';
import { criteriaOfEvent } from '../../shared/audit/audit-event.js';
import { eventOfEntry, parseAuditEntry } from '../../shared/audit/audit-entry.js';
import { createLogger } from '../../shared/log.js';
import { KeySpace } from '../../shared/redis/connection.js';
import { startTestAudit } from '../../test/audit.js';
import { deletePrefix, testRedis, uniquePrefix } from '../../test/redis.js';
import { AuditKeys } from './keys.js';
import { PerformanceSampler, PerformanceStore } from './performance.js';

const METRICS = [
  '# TYPE infoshare_http_request_duration_seconds histogram',
  'infoshare_http_request_duration_seconds_bucket{method="GET",route="/fhir/Patient/:id",status="200",le="0.01"} 3',
  'infoshare_http_request_duration_seconds_bucket{method="GET",route="/fhir/Patient/:id",status="200",le="+Inf"} 4',
  'infoshare_http_request_duration_seconds_count{method="GET",route="/fhir/Patient/:id",status="200"} 4',
  '',
].join('\n');

let redis: Redis;
let prefix: string;
let server: Server;
let metricsUrl: string;

beforeAll(async () => {
  redis = testRedis();
  server = createServer((_req, res) => res.writeHead(200, { 'Content-Type': 'text/plain' }).end(METRICS)).listen(0, '127.0.0.1');
  await new Promise<void>((resolve) => server.once('listening', () => resolve()));
  metricsUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
  await redis.quit();
});

beforeEach(() => {
  prefix = uniquePrefix('perf');
});

afterEach(async () => {
  await deletePrefix(redis, prefix);
});

/** A sampler over these targets, summarising every minute, under this test's prefix. */
function samplerOf(targets: { service: 'mpi' | 'alerts'; url: string }[]): PerformanceSampler {
  const keys = new KeySpace(prefix);
  return new PerformanceSampler(new PerformanceStore(redis, keys), {
    targets,
    intervalMs: 60_000,
    audit: new RedisAuditSink(redis, keys),
    log: createLogger('performance-test', 'silent'),
  });
}

/** Samples once over these targets; the criteria its audit record claims. */
async function criteriaOfSummary(targets: { service: 'mpi' | 'alerts'; url: string }[]): Promise<string[]> {
  const keys = new KeySpace(prefix);
  await samplerOf(targets).sampleOnce({ force: true });
  const [latest] = await redis.xrevrange(new AuditKeys(keys).stream, '+', '-', 'COUNT', 1);
  return criteriaOfEvent(eventOfEntry(parseAuditEntry(latest![1])));
}

describe('the performance summary as evidence', () => {
  it('claims SI-L4 when it captured a service’s metrics', async () => {
    expect(await criteriaOfSummary([{ service: 'mpi', url: metricsUrl }, { service: 'alerts', url: 'http://127.0.0.1:1' }])).toEqual(['SI-L4']);
  });

  it('claims nothing when no service could be reached (nothing was captured)', async () => {
    expect(await criteriaOfSummary([{ service: 'alerts', url: 'http://127.0.0.1:1' }])).toEqual([]);
  });
});

describe('the first summary, before the first interval has ended', () => {
  it('is taken when asked for: one for two requests at once, none more once there is one', async () => {
    const sampler = samplerOf([{ service: 'mpi', url: metricsUrl }]);
    await Promise.all([sampler.firstSummary(), sampler.firstSummary()]);
    await sampler.firstSummary();
    const summaries = await sampler.store.latest(10);
    expect(summaries).toHaveLength(1);
    expect(summaries[0]!.rows).toEqual([expect.objectContaining({ service: 'mpi', exchange: expect.stringContaining('/fhir/Patient/:id'), volume: 4 })]);
  });

  it('answers an auditor who asks the audit service within the first minute at once (SI-L5), not with an empty analysis', async () => {
    const audit = await startTestAudit();
    try {
      expect(audit.config.performanceIntervalMs).toBe(60_000);
      const res = await audit.get('nhs-lothian', '/performance');
      expect(res.status).toBe(200);
      expect((res.body as { summaries: unknown[] }).summaries).toHaveLength(1);
      expect(criteriaOfEvent((await audit.dir.auditOf(res.headers['x-request-id'] as string))!)).toEqual(['SI-L5']);
    } finally {
      await audit.close();
    }
  });
});
