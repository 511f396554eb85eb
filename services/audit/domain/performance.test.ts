import { parseScrape, quantileMs, summarise, trendOf } from './performance.js';

const scrape = (count: number, fast: number, errors = 0) =>
  parseScrape(
    [
      '# HELP infoshare_http_request_duration_seconds HTTP request duration by route and status',
      '# TYPE infoshare_http_request_duration_seconds histogram',
      `infoshare_http_request_duration_seconds_bucket{le="0.01",method="GET",route="/fhir/Patient",status="200",service="mpi"} ${fast}`,
      `infoshare_http_request_duration_seconds_bucket{le="0.1",method="GET",route="/fhir/Patient",status="200",service="mpi"} ${count}`,
      `infoshare_http_request_duration_seconds_bucket{le="+Inf",method="GET",route="/fhir/Patient",status="200",service="mpi"} ${count}`,
      `infoshare_http_request_duration_seconds_count{method="GET",route="/fhir/Patient",status="200",service="mpi"} ${count}`,
      `infoshare_http_request_duration_seconds_bucket{le="0.01",method="GET",route="/fhir/Patient",status="503",service="mpi"} 0`,
      `infoshare_http_request_duration_seconds_bucket{le="0.1",method="GET",route="/fhir/Patient",status="503",service="mpi"} ${errors}`,
      `infoshare_http_request_duration_seconds_bucket{le="+Inf",method="GET",route="/fhir/Patient",status="503",service="mpi"} ${errors}`,
      `infoshare_http_request_duration_seconds_count{method="GET",route="/fhir/Patient",status="503",service="mpi"} ${errors}`,
      'infoshare_job_duration_seconds_bucket{le="1",queue="{alerts-delivery}",outcome="completed"} 4',
      'infoshare_job_duration_seconds_bucket{le="+Inf",queue="{alerts-delivery}",outcome="completed"} 4',
      'infoshare_job_duration_seconds_count{queue="{alerts-delivery}",outcome="completed"} 4',
      'infoshare_job_duration_seconds_bucket{le="1",queue="{alerts-delivery}",outcome="failed"} 1',
      'infoshare_job_duration_seconds_bucket{le="+Inf",queue="{alerts-delivery}",outcome="failed"} 1',
      'infoshare_job_duration_seconds_count{queue="{alerts-delivery}",outcome="failed"} 1',
    ].join('\n'),
  );

describe('the performance summary', () => {
  it('gives volume, p50, p99 and failures per route and queue for the interval between two scrapes', () => {
    const rows = summarise('mpi', scrape(10, 8), scrape(110, 58, 2));
    const patient = rows.find((r) => r.exchange === 'http GET /fhir/Patient')!;
    expect(patient).toMatchObject({ service: 'mpi', volume: 102, failures: 2 });
    // 50 of the 102 new requests took ≤ 10 ms: the median lies just past 10 ms, the p99 near the top of the 10-100 ms bucket.
    expect(patient.p50Ms).toBeGreaterThan(9);
    expect(patient.p50Ms).toBeLessThan(15);
    expect(patient.p99Ms).toBeGreaterThan(90);
    expect(patient.p99Ms).toBeLessThanOrEqual(100);
    expect(rows.find((r) => r.exchange === 'job {alerts-delivery}')).toBeUndefined();
  });

  it('counts everything of a first scrape, and failed job attempts as failures', () => {
    const rows = summarise('alerts', undefined, scrape(0, 0));
    expect(rows).toEqual([{ service: 'alerts', exchange: 'job {alerts-delivery}', volume: 5, p50Ms: expect.any(Number), p99Ms: expect.any(Number), failures: 1 }]);
  });

  it('reads a counter that went down as a restarted service', () => {
    const rows = summarise('mpi', scrape(500, 400), scrape(20, 20));
    expect(rows.find((r) => r.exchange === 'http GET /fhir/Patient')).toMatchObject({ volume: 20, p99Ms: expect.any(Number) });
  });

  it('interpolates a quantile within its bucket', () => {
    expect(quantileMs(new Map([[0.1, 50], [0.2, 100], [Infinity, 100]]), 100, 0.75)).toBe(150);
    expect(quantileMs(new Map([[Infinity, 0]]), 0, 0.5)).toBeNull();
  });

  it('follows one exchange across summaries for its trend', () => {
    const s = (to: string, volume: number) => ({ from: '', to, unreachable: [], rows: [{ service: 'mpi', exchange: 'x', volume, p50Ms: 1, p99Ms: 2, failures: 0 }] });
    expect(trendOf([s('a', 1), { from: '', to: 'b', rows: [], unreachable: [] }, s('c', 3)], 'mpi', 'x')).toEqual([
      { to: 'a', volume: 1, p99Ms: 2 },
      { to: 'b', volume: 0, p99Ms: null },
      { to: 'c', volume: 3, p99Ms: 2 },
    ]);
  });
});
