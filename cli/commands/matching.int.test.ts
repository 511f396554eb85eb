/**
 * `infoshare matching …` against a whole hub in this process (free ports, its own key prefix):
 * what a reviewer reads when the MPI refuses — the refusal's own words, not an empty line.
 */
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import type { RunningHub } from '../../services/hub.js';
import { startTestHub, stopTestHub } from '../../test/in-process-hub.js';
import type { Io } from '../exit.js';
import { matchingCommand } from './matching.js';

const prefix = `matching-cli-${randomBytes(4).toString('hex')}`;
let hub: RunningHub;
let mpi: string;
const savedDirectoryPort = process.env.INFOSHARE_DIRECTORY_PORT;

beforeAll(async () => {
  hub = await startTestHub(prefix, { loadDemoPeople: false });
  mpi = hub.urls.mpi!;
  // The command signs in at the directory the environment's ports name, as beside `npm start`.
  process.env.INFOSHARE_DIRECTORY_PORT = String(hub.config.ports.directory);
}, 120_000);

afterAll(async () => {
  if (savedDirectoryPort === undefined) delete process.env.INFOSHARE_DIRECTORY_PORT;
  else process.env.INFOSHARE_DIRECTORY_PORT = savedDirectoryPort;
  await stopTestHub(hub, prefix);
});

function capture(): Io & { stdout: string[]; stderr: string[] } {
  const stdout: string[] = [];
  const stderr: string[] = [];
  return { stdout, stderr, out: (t) => stdout.push(t), err: (t) => stderr.push(t) };
}

describe('infoshare matching, when the MPI refuses', () => {
  it('review of an unknown Task: exits 1 and prints the MPI’s reason', async () => {
    const io = capture();
    expect(await matchingCommand(['review', 'mr-no-such-task', '--mpi', mpi], io)).toBe(1);
    expect(io.stderr.join('\n')).toBe('The MPI refused (404): Task/mr-no-such-task is not known');
    expect(io.stdout).toEqual([]);
  });

  it('estimate on an index too small to learn from: exits 1 and says how many records it needs', async () => {
    const io = capture();
    expect(await matchingCommand(['estimate', '--mpi', mpi], io)).toBe(1);
    const refusal = io.stderr.find((line) => line.startsWith('The MPI refused'));
    expect(refusal).toMatch(/^The MPI refused \(422\): The index holds \d+ record\(s\); estimating a matching model needs at least \d+\. The model in use stays\.$/);
  });
});

describe('infoshare matching, pointed at another hub', () => {
  // The environment names a directory where nothing listens (another machine's hub is the one to ask).
  let nothingListens: number;
  beforeEach(async () => {
    nothingListens = await closedPort();
    process.env.INFOSHARE_DIRECTORY_PORT = String(nothingListens);
  });
  afterEach(() => {
    process.env.INFOSHARE_DIRECTORY_PORT = String(hub.config.ports.directory);
  });

  it('--directory signs in at that hub’s token endpoint: the report comes back', async () => {
    const io = capture();
    expect(await matchingCommand(['report', '--mpi', mpi, '--directory', hub.urls.directory!, '--json'], io)).toBe(0);
    const report = JSON.parse(io.stdout.join('\n')) as { indexedRecords: number };
    expect(typeof report.indexedRecords).toBe('number');
  });

  it('without --directory it says the hub is not reachable and how to point at one', async () => {
    const io = capture();
    expect(await matchingCommand(['report', '--mpi', mpi], io)).toBe(1);
    expect(io.stderr.join('\n')).toBe(
      `The hub is not reachable (${mpi}, http://localhost:${nothingListens}/auth/token): start it with \`infoshare start\` (or pass --mpi / --directory <url>)`,
    );
  });
});

/** A port this machine just handed out and closed again: nothing listens there. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}
