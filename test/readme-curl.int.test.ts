/**
 * The README's "Using the hub with curl" section, request by request, against a whole hub as
 * `npm start` leaves it (the demo partnership and the agencies' demographic extracts loaded):
 * the tokens come from `infoshare token` as the README gets them, the bodies and query strings
 * are read from the README itself — so an example a reader copies does what the README says.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import type { Bundle, Parameters, Patient } from 'fhir/r4.js';
import { tokenCommand } from '../cli/commands/token.js';
import type { RunningHub } from '../services/hub.js';
import { PROJECT_ROOT } from '../shared/config.js';
import { startTestHub, stopTestHub } from './in-process-hub.js';

const prefix = `readme-curl-${randomBytes(4).toString('hex')}`;
let hub: RunningHub;
let section: string;

beforeAll(async () => {
  hub = await startTestHub(prefix, { loadDemographics: true });
  const readme = await fs.readFile(path.join(PROJECT_ROOT, 'README.md'), 'utf8');
  const start = readme.indexOf('## Using the hub with curl');
  section = readme.slice(start, readme.indexOf('\n## ', start + 1));
}, 120_000);

afterAll(() => stopTestHub(hub, prefix));

/** `TOKEN=$(npx infoshare token --agency <agency> [--scope …])`, against this hub's directory. */
async function token(agency: string, scope?: string): Promise<string> {
  const out: string[] = [];
  const err: string[] = [];
  const args = ['--agency', agency, ...(scope ? ['--scope', scope] : []), '--directory', hub.urls.directory!];
  expect(await tokenCommand(args, { out: (t) => out.push(t), err: (t) => err.push(t) })).toBe(0);
  return out.join('').trim();
}

/** A README URL (`http://localhost:<default port>/…`, `\$` as the shell has it) at this hub's port for that service. */
function atHub(url: string): string {
  const byDefaultPort: Record<string, string> = { '4000': hub.urls.directory!, '4001': hub.urls.mpi! };
  return url.replace(/^http:\/\/localhost:(\d+)/, (_, port: string) => byDefaultPort[port]!).replace('\\$', '$');
}

/** Every quoted URL of one service in the section's examples, in order. */
const urlsOf = (pattern: RegExp): string[] => [...section.matchAll(pattern)].map((m) => atHub(m[1]!));

describe('README: using the hub with curl', () => {
  it('education reads demo-child-1’s Named Person / Lead Professional CareTeam with the scopes the example asks for', async () => {
    const scope = /token --agency edinburgh-education --scope "([^"]+)"/.exec(section)?.[1];
    expect(scope).toBeDefined();
    const [careTeams] = urlsOf(/"(http:\/\/localhost:4000\/fhir\/CareTeam\?[^"]+)"/g);
    const res = await fetch(careTeams!, { headers: { Authorization: `Bearer ${await token('edinburgh-education', scope)}` } });
    expect(res.status).toBe(200);
    const bundle = (await res.json()) as Bundle;
    expect(bundle.entry?.filter((e) => e.search?.mode !== 'include').map((e) => e.resource?.id)).toEqual(['careteam-demo-child-1']);
  });

  it('registers the example record as a new person, whose $ihe-pix is empty, and the housing record’s $ihe-pix names NHS Lothian’s and the CHI', async () => {
    const TOKEN = await token('edinburgh-social-work');
    const auth = { Authorization: `Bearer ${TOKEN}` };
    const body = /-d '(\{[\s\S]*?\})'/.exec(section)?.[1];
    const registered = await fetch(`${hub.urls.mpi!}/fhir/Patient`, { method: 'POST', headers: { ...auth, 'Content-Type': 'application/fhir+json' }, body: body! });
    expect(registered.status).toBe(201);
    const outcome = ((await registered.json()) as Patient).extension?.[0]?.extension?.find((e) => e.url === 'outcome')?.valueCode;
    expect(outcome).toBe('new');

    const [ownPix, housingPix] = urlsOf(/"(http:\/\/localhost:4001\/fhir\/Patient\/\\\$ihe-pix\?[^"]+)"/g);
    const own = (await (await fetch(ownPix!, { headers: auth })).json()) as Parameters;
    expect(own).toEqual({ resourceType: 'Parameters', parameter: [] });

    const housing = await fetch(housingPix!, { headers: auth });
    expect(housing.status).toBe(200);
    const identifiers = ((await housing.json()) as Parameters).parameter?.flatMap((p) => (p.valueIdentifier ? [p.valueIdentifier.system] : []));
    expect(identifiers).toEqual(expect.arrayContaining(['https://fhir.infoshare.scot/id/patient/nhs-lothian', 'urn:oid:2.16.840.1.113883.2.1.3.2.4.16.53']));
  });
});
