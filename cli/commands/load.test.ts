import type { Io } from '../exit.js';
import { helpCommand, usageText } from './help.js';
import { loadCommand } from './load.js';

function capture(): Io & { stdout: string[]; stderr: string[] } {
  const stdout: string[] = [];
  const stderr: string[] = [];
  return { stdout, stderr, out: (t) => stdout.push(t), err: (t) => stderr.push(t) };
}

// Every case here stops before anything is sent: nothing listens at this URL, and nothing needs to.
const NOWHERE = ['--mpi', 'http://127.0.0.1:9', '--directory', 'http://127.0.0.1:9'];

describe('infoshare load, before anything is sent', () => {
  it('requires the agency whose records these are, one file, and a sensible Bundle size (usage errors)', async () => {
    await expect(loadCommand(['fixtures/demographics/edinburgh-housing.json', ...NOWHERE], capture())).rejects.toMatchObject({ name: 'UsageError', command: 'load', message: expect.stringContaining('--agency') });
    await expect(loadCommand(['--agency', 'edinburgh-housing', ...NOWHERE], capture())).rejects.toMatchObject({ name: 'UsageError' });
    await expect(loadCommand(['a.json', '--agency', 'edinburgh-housing', '--bundle-size', '0'], capture())).rejects.toMatchObject({ message: expect.stringContaining('--bundle-size') });
    await expect(loadCommand(['a.json', '--agency', 'edinburgh-housing', '--mpi', 'localhost:4001'], capture())).rejects.toMatchObject({ message: expect.stringContaining('--mpi must be an http(s) URL') });
  });

  it('says so when the file cannot be read, or is not a Bundle of Patients (exit 1)', async () => {
    const missing = capture();
    expect(await loadCommand(['no/such/extract.json', '--agency', 'edinburgh-housing', ...NOWHERE], missing)).toBe(1);
    expect(missing.stderr.join('\n')).toMatch(/^Cannot read no\/such\/extract.json: ENOENT/);
    const notFhir = capture();
    expect(await loadCommand(['package.json', '--agency', 'edinburgh-housing', ...NOWHERE], notFhir)).toBe(1);
    expect(notFhir.stderr.join('\n')).toContain('package.json is not a FHIR resource: expected a Bundle of Patients');
    expect(notFhir.stdout).toEqual([]);
  });

  it('says when there is no demo key for the agency, or the --key file cannot be read', async () => {
    const unknown = capture();
    expect(await loadCommand(['fixtures/demographics/edinburgh-housing.json', '--agency', 'no-such-agency', ...NOWHERE], unknown)).toBe(1);
    expect(unknown.stderr.join('\n')).toContain('No demo key for agency "no-such-agency"');
    const keyless = capture();
    expect(await loadCommand(['fixtures/demographics/edinburgh-housing.json', '--agency', 'edinburgh-housing', '--key', 'no/such.pem', ...NOWHERE], keyless)).toBe(1);
    expect(keyless.stderr.join('\n')).toMatch(/^Cannot read the key no\/such.pem: ENOENT/);
  });
});

describe('infoshare help load', () => {
  it('is listed among the commands, and its help says the default key is the demo one', async () => {
    expect(usageText()).toContain('infoshare load <file> --agency <id>');
    const io = capture();
    expect(await helpCommand(['load'], io)).toBe(0);
    expect(io.stdout.join('\n')).toMatch(/--key\s+the agency's own private key \(PEM\)[^]*DEMO-ONLY key/);
  });
});
