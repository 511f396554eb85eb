/**
 * The result parameters every search takes (`_summary=count`, `_total`), through
 * the generic resource routes, as a FHIR client sends them (fhir-kit-client over HTTP).
 */
import type { Bundle } from 'fhir/r4.js';
import type { Client } from 'fhir-kit-client';
import { fhirClient, fhirErrorResponse } from '../../shared/client/fhir.js';
import { listen, reserveFreePorts, type Listening } from '../../shared/runtime/listen.js';
import { startTestDirectory, type TestDirectory } from './test-directory.js';

let dir: TestDirectory;
let server: Listening;
let client: Client;
let organizations: number;

beforeAll(async () => {
  // Listening where the directory says it is, so the links it answers with lead back to it.
  const [port] = await reserveFreePorts(1);
  dir = await startTestDirectory({ INFOSHARE_DIRECTORY_PORT: String(port) });
  server = await listen(dir.app, port!, '127.0.0.1');
  client = fhirClient(`${dir.config.urls.directory}/fhir`, await dir.token('nhs-lothian'));
  const all = (await client.search({ resourceType: 'Organization', searchParams: { _count: 1000 } })) as unknown as Bundle;
  organizations = all.entry?.length ?? 0;
});

afterAll(async () => {
  await server.close();
  await dir.close();
});

const search = async (searchParams: Record<string, string | number>, postSearch = false) =>
  (await client.search({ resourceType: 'Organization', searchParams, options: postSearch ? { postSearch: true } : {} })) as unknown as Bundle;

describe('_summary=count and _total on the directory’s searches', () => {
  it('_summary=count answers the number of matches with no entries, by GET and by POST _search', async () => {
    expect(organizations).toBeGreaterThan(5);
    for (const post of [false, true]) {
      const counted = await search({ _summary: 'count' }, post);
      expect(counted.type).toBe('searchset');
      expect(counted.total).toBe(organizations);
      expect(counted.entry).toBeUndefined();
      expect(counted.link?.map((l) => l.relation)).toEqual(['self']);
    }
  });

  it('_summary=count counts what the search parameters select', async () => {
    const byName = await search({ name: 'nhs' });
    expect(byName.entry?.length).toBeGreaterThan(0);
    expect((await search({ name: 'nhs', _summary: 'count' })).total).toBe(byName.entry?.length);
  });

  it('_total=none leaves the total out; estimate and accurate give it', async () => {
    expect((await search({ _count: 2, _total: 'none' })).total).toBeUndefined();
    expect((await search({ _count: 2, _total: 'estimate' })).total).toBe(organizations);
    expect((await search({ _count: 2, _total: 'accurate' })).total).toBe(organizations);
  });

  it('pages without a total by following next links until the last page', async () => {
    const ids: string[] = [];
    let page: Bundle | undefined = await search({ _count: 4, _total: 'none' });
    while (page) {
      ids.push(...(page.entry ?? []).map((e) => e.resource!.id!));
      page = (await client.nextPage({ bundle: { ...page, link: page.link ?? [] } })) as unknown as Bundle | undefined;
    }
    expect(new Set(ids).size).toBe(organizations);
  });

  it('answers 400 with an OperationOutcome for a _summary or _total it does not serve', async () => {
    for (const params of [{ _summary: 'text' }, { _total: 'sometimes' }] as Record<string, string>[]) {
      const failure = fhirErrorResponse(await search(params).catch((e: unknown) => e));
      expect(failure?.status).toBe(400);
      expect((failure?.data as { resourceType?: string }).resourceType).toBe('OperationOutcome');
    }
  });
});
