/**
 * What the hub answers is itself valid R4 JSON — the same rules it holds a client's body to — in
 * the answers a client gets when there is nothing to give: a search that finds nothing, `$match`
 * without a candidate, an empty `$inbox`, no DocumentReferences. Until session 23 each of them
 * carried `"entry": []`, which FHIR JSON forbids (no empty arrays) and a strict client parser
 * (Firely's, HAPI's strict mode) refuses. Searches are read from each service's
 * CapabilityStatement: every type that takes `_id` is searched for an id no one has.
 */
import type { Bundle, CapabilityStatement } from 'fhir/r4.js';
import { issueAccessToken } from '../shared/auth/access-token.js';
import { loadTokenSigningKey } from '../shared/auth/keys.js';
import { validityOf } from '../shared/fhir/validate.js';
import type { RunningHub } from '../services/hub.js';
import { uniquePrefix } from './redis.js';
import { startTestHub, stopTestHub } from './in-process-hub.js';

const AGENCY = 'nhs-lothian';
const SERVICES = ['directory', 'mpi', 'alerts', 'plans', 'audit'] as const;
type Service = (typeof SERVICES)[number];

const prefix = uniquePrefix('answers-fhir-json');
let hub: RunningHub;
let token: string;

beforeAll(async () => {
  hub = await startTestHub(prefix, { loadDemoPeople: false });
  const key = await loadTokenSigningKey(hub.config.token);
  token = issueAccessToken({ clientId: AGENCY, agency: AGENCY, partnership: 'lothian-hscp', scopes: ['system/*.*', 'system/Task.review'] }, key, hub.config.token).token;
}, 120_000);

afterAll(() => stopTestHub(hub, prefix));

async function answer(service: Service, path: string, body?: unknown): Promise<{ status: number; json: unknown }> {
  const res = await fetch(`${hub.config.urls[service] ?? ''}${path}`, {
    method: body === undefined ? 'GET' : 'POST',
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/fhir+json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: res.status, json: await res.json() };
}

/** The problems R4 validation finds in an answer (none: `[]`), as `path: text` lines a failure shows. */
function problemsOf(json: unknown): string[] {
  const validity = validityOf(json);
  return validity.valid ? [] : validity.issues.map((i) => `${i.expression?.[0] ?? ''}: ${i.details?.text ?? ''}`);
}

describe('Answers with nothing in them', () => {
  it('are valid R4 for a search by an id no one has, on every type a CapabilityStatement lets search by _id', async () => {
    const problems: string[] = [];
    let searched = 0;
    for (const service of SERVICES) {
      const cs = (await answer(service, '/fhir/metadata')).json as CapabilityStatement;
      for (const type of cs.rest?.[0]?.resource ?? []) {
        if (!type.searchParam?.some((p) => p.name === '_id')) continue;
        const { status, json } = await answer(service, `/fhir/${type.type}?_id=no-such-id`);
        searched++;
        if (status !== 200 || (json as Bundle).total !== 0) problems.push(`${service} ${type.type}: ${status} ${JSON.stringify(json).slice(0, 200)}`);
        else problems.push(...problemsOf(json).map((p) => `${service} ${type.type}: ${p}`));
      }
    }
    expect(searched).toBeGreaterThanOrEqual(10);
    expect(problems).toEqual([]);
  });

  it('are valid R4 for $match without a candidate, an empty $inbox and an empty DocumentReference list', async () => {
    const nobody = { resourceType: 'Parameters', parameter: [{ name: 'resource', resource: { resourceType: 'Patient', name: [{ family: 'Nobodyhere', given: ['Zed'] }], birthDate: '1901-01-01' } }] };
    const answers = {
      match: await answer('mpi', '/fhir/Patient/$match', nobody),
      inbox: await answer('alerts', '/fhir/$inbox'),
      documents: await answer('audit', '/fhir/DocumentReference'),
    };
    for (const [what, { status, json }] of Object.entries(answers)) {
      expect({ what, status }).toEqual({ what, status: 200 });
      expect({ what, entry: (json as Bundle).entry }).toEqual({ what, entry: undefined });
      expect({ what, problems: problemsOf(json) }).toEqual({ what, problems: [] });
    }
  });
});
