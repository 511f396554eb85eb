import fs from 'node:fs';
import path from 'node:path';
import request from 'supertest';
import { DEMO_DEMOGRAPHICS_DIR, loadDemoDemographics } from './fixtures.js';
import { startTestMpi, type TestMpi } from '../../test/mpi.js';

let mpi: TestMpi;

beforeAll(async () => {
  mpi = await startTestMpi();
});

afterAll(async () => {
  await mpi.close();
});

const demoRecordCount = fs
  .readdirSync(DEMO_DEMOGRAPHICS_DIR)
  .filter((f) => f.endsWith('.json') && f !== 'truth.json')
  .reduce((n, f) => n + (JSON.parse(fs.readFileSync(path.join(DEMO_DEMOGRAPHICS_DIR, f), 'utf8')).entry as unknown[]).length, 0);

describe('Loading the demo agencies’ demographic extracts', () => {
  it('registers every record once, and a second load changes nothing (no new versions, no re-match)', async () => {
    const deps = { ...mpi.dir.deps, config: mpi.config };
    const first = await loadDemoDemographics(deps);
    expect(Object.values(first).reduce((n, c) => n + c.registered, 0)).toBe(demoRecordCount);
    expect(await mpi.store.countRecords()).toBe(demoRecordCount);
    const statsAfterFirst = await mpi.store.getStats();

    const second = await loadDemoDemographics(deps);
    expect(Object.values(second).every((c) => c.registered === 0)).toBe(true);
    expect(Object.values(second).reduce((n, c) => n + c.unchanged, 0)).toBe(demoRecordCount);
    // Only the count of re-submissions recognised as unchanged moves.
    expect(await mpi.store.getStats()).toEqual({ ...statsAfterFirst, unchanged: demoRecordCount });
  });

  it('leaves the index with linked people and a review queue a matching lead can read', async () => {
    const res = await request(mpi.app).get('/matching/report').set(await mpi.auth('nhs-lothian'));
    expect(res.status).toBe(200);
    expect(res.body.indexedRecords).toBe(demoRecordCount);
    expect(res.body.outcomes.linkedByChi + res.body.outcomes.linkedAutomatically).toBeGreaterThan(0);
    expect(res.body.outcomes.newPersons).toBeGreaterThan(0);
  });
});
