/**
 * The performance summary as SI-L4 evidence, on a real Redis: a summary that
 * captured a service's metrics claims SI-L4 in its audit record; one for which
 * every service was unreachable is still recorded, but claims nothing.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Redis } from 'ioredis';
import { RedisAuditSink } from '../../shared/audit/audit-client.js';
import { criteriaOfEvent } from '../../shared/audit/audit-event.js';
import { eventOfEntry, parseAuditEntry } from '../../shared/audit/audit-entry.js';
import { createLogger } from '../../shared/log.js';
import { KeySpace } from '../../shared/redis/connection.js';
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

/** Samples once over these targets; the criteria its audit record claims. */
async function criteriaOfSummary(targets: { service: 'mpi' | 'alerts'; url: string }[]): Promise<string[]> {
  const keys = new KeySpace(prefix);
  const sampler = new PerformanceSampler(new PerformanceStore(redis, keys), {
    targets,
    intervalMs: 60_000,
    audit: new RedisAuditSink(redis, keys),
    log: createLogger('performance-test', 'silent'),
  });
  await sampler.sampleOnce({ force: true });
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
