/**
 * `infoshare load` against a whole hub started in this process (its own key
 * prefix, free ports, the test Redis): a demo agency's extract loaded in
 * Bundles of 10, loaded again, a file with one bad record, Ctrl-C, no hub.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { Patient } from 'fhir/r4.js';
import { pino } from 'pino';
import { agencyPatientSystem } from '../../shared/fhir/systems.js';
import { spawnHub, type SpawnedHub } from '../replay/spawn.js';
import type { LoadSummary } from '../load/summary.js';
import { loadCommand, type LoadIo } from './load.js';

const HOUSING = 'fixtures/demographics/edinburgh-housing.json';

let hub: SpawnedHub;
let dir: string;
let urls: string[];

beforeAll(async () => {
  hub = await spawnHub(pino({ level: 'error' }, pino.destination(2)));
  urls = ['--mpi', hub.target.urls.mpi, '--directory', hub.target.urls.directory];
  dir = await mkdtemp(path.join(os.tmpdir(), 'infoshare-load-'));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
  await hub?.stop(false);
});

function capture(): LoadIo & { stdout: string[]; stderr: string[] } {
  const stdout: string[] = [];
  const stderr: string[] = [];
  return { stdout, stderr, out: (t) => stdout.push(t), err: (t) => stderr.push(t) };
}

/** A free port nothing listens on (fetch refuses "bad ports" such as 9 before trying). */
async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

const people = (n: number, family: string): Patient[] =>
  Array.from({ length: n }, (_, i) => ({
    resourceType: 'Patient',
    identifier: [{ system: agencyPatientSystem('edinburgh-housing'), value: `LOAD-${family}-${i}` }],
    name: [{ family: `${family}${String.fromCharCode(97 + i)}`, given: [['Isla', 'Callum', 'Eilidh'][i % 3]!] }],
    birthDate: `19${50 + i}-0${1 + (i % 9)}-1${i % 10}`,
    gender: i % 2 ? 'male' : 'female',
  }));

async function ndjson(name: string, patients: readonly Patient[]): Promise<string> {
  const file = path.join(dir, name);
  await writeFile(file, patients.map((p) => JSON.stringify(p)).join('\n') + '\n');
  return file;
}

describe('infoshare load against a running hub', () => {
  it('loads an agency extract in Bundles of 10 and sums up what the MPI did with each record', async () => {
    const io = capture();
    expect(await loadCommand([HOUSING, '--agency', 'edinburgh-housing', '--bundle-size', '10', '--json', ...urls], io)).toBe(0);
    const summary = JSON.parse(io.stdout.join('\n')) as LoadSummary;
    expect(summary).toMatchObject({ records: 37, bundles: 4, created: 37, updated: 0, otherOutcomes: 0, agency: 'edinburgh-housing' });
    expect(summary.linked + summary.queuedForReview + summary.newPersons).toBe(37);
    expect(io.stderr).toHaveLength(4);
    expect(io.stderr[3]).toMatch(/^Bundle 4 of 4 \(records 31–37\) registered: 7 created, 0 updated; 37 of 37 so far/);

    // The same command again: each Bundle is identical to one the MPI already has, so it answers with that job's result.
    const again = capture();
    expect(await loadCommand([HOUSING, '--agency', 'edinburgh-housing', '--bundle-size', '10', '--json', ...urls], again)).toBe(0);
    expect(JSON.parse(again.stdout.join('\n'))).toMatchObject({ records: 37, created: 37, updated: 0, fromEarlierLoad: 37 });
    const againText = capture();
    expect(await loadCommand([HOUSING, '--agency', 'edinburgh-housing', '--bundle-size', '10', ...urls], againText)).toBe(0);
    expect(againText.stdout.join('\n')).toContain('37 of these results are from an earlier identical load');

    // Other Bundles of the same records: sent again exactly as stored, so unchanged — nothing written or re-matched.
    const resubmitted = capture();
    expect(await loadCommand([HOUSING, '--agency', 'edinburgh-housing', '--bundle-size', '20', ...urls], resubmitted)).toBe(0);
    const text = resubmitted.stdout.join('\n');
    expect(text).toContain('Loaded 37 record(s) from fixtures/demographics/edinburgh-housing.json as edinburgh-housing, in 2 Bundle(s)');
    expect(text).toMatch(/created\s+0\n/);
    expect(text).toMatch(/updated\s+0 /);
    expect(text).toMatch(/unchanged\s+37 \(sent again exactly as stored/);
    expect(text).not.toContain('other outcomes');
    expect(text).toContain('infoshare matching report');
  });

  it('stops at a refused Bundle, naming the bad record by its line and saying how many earlier Bundles registered', async () => {
    const patients = people(25, 'Refused');
    patients[14] = { ...patients[14]!, birthDate: '31/02/1970' };
    const file = await ndjson('one-bad.ndjson', patients);
    const io = capture();
    expect(await loadCommand([file, '--agency', 'edinburgh-housing', '--bundle-size', '10', ...urls], io)).toBe(1);
    const err = io.stderr.join('\n');
    expect(err).toContain('Bundle 2 of 3 (records 11–20) was refused (422); nothing of it was registered');
    expect(err).toMatch(/record 15 \(line 15\) birthDate/);
    expect(err).toContain('10 of 25 records (the Bundles before this one) are registered and stay so');
    expect(err).toContain('Running the same command again is safe');
    expect(io.stdout).toEqual([]);
  });

  it('stops waiting on Ctrl-C, saying the current Bundle goes on registering and where its result will be', async () => {
    const file = await ndjson('interrupted.ndjson', people(6, 'Interrupted'));
    const interrupt = new AbortController();
    const terminal: string[] = [];
    // On a terminal; Ctrl-C as soon as the second Bundle is accepted and being waited for.
    const io = {
      ...capture(),
      terminal: (text: string) => {
        terminal.push(text);
        if (text.includes('Bundle 2 of 2')) interrupt.abort();
      },
    };
    expect(await loadCommand([file, '--agency', 'edinburgh-housing', '--bundle-size', '3', ...urls], io, { signal: interrupt.signal })).toBe(1);
    const err = io.stderr.join('\n');
    expect(err).toMatch(/Stopped waiting \(Ctrl-C\)\. Bundle 2 of 2 \(records 4–6\) continues registering in the background; its result will be at http:\/\/\S+\/fhir\/_async\/registration~edinburgh-housing~[0-9a-f]{32}\./);
    expect(err).toContain('3 of 6 records');
    // Each progress line first returns to the start of the line and clears it (CR, then ANSI "erase line").
    const clearLine = '\r\x1b[K';
    expect(terminal[0]!.slice(0, clearLine.length)).toBe(clearLine);
    expect(terminal[0]!.slice(clearLine.length)).toMatch(/^Registering: 0 of 6 records \(0 %\), Bundle 1 of 2, \d+ records\/s$/);
    // The progress line is cleared before each line printed under it.
    expect(terminal).toContain(clearLine);
  });

  it('says the hub is not reachable, as `infoshare matching report` does', async () => {
    const io = capture();
    const nowhere = `http://127.0.0.1:${await closedPort()}`;
    expect(await loadCommand([HOUSING, '--agency', 'edinburgh-housing', '--mpi', nowhere, '--directory', nowhere], io)).toBe(1);
    expect(io.stderr).toEqual([`The hub is not reachable (${nowhere}, ${nowhere}/auth/token): start it with \`infoshare start\``]);
  });
});
