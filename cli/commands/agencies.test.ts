import type { Io } from '../exit.js';
import { agenciesCommand } from './agencies.js';
import { helpCommand } from './help.js';

function capture(): Io & { stdout: string[]; stderr: string[] } {
  const stdout: string[] = [];
  const stderr: string[] = [];
  return { stdout, stderr, out: (t) => stdout.push(t), err: (t) => stderr.push(t) };
}

describe('infoshare agencies', () => {
  it('lists every demo agency with its type and partnership, then the partnerships apart, marked as getting no token', async () => {
    const io = capture();
    expect(await agenciesCommand([], io)).toBe(0);
    const text = io.stdout.join('\n');
    const [agencies, partnerships] = text.split(/^Partnerships/m);
    expect(agencies).toMatch(/^police-scotland-e-division\s+police\s+lothian-hscp\s+Police Scotland E Division$/m);
    expect(agencies).toMatch(/^vhk-emergency\s+emergency-department\s+fife-hscp\s+/m);
    expect(agencies).toContain('infoshare token --agency <ID>');
    // No partnership sits among the agencies one can ask a token for.
    expect(agencies).not.toMatch(/^lothian-hscp\s/m);
    expect(partnerships).toMatch(/not an agency and gets no token/);
    expect(partnerships).toMatch(/^lothian-hscp\s+11\s+Lothian Health & Social Care Partnership$/m);
    expect(partnerships).toMatch(/^fife-hscp\s+4\s+Fife Health & Social Care Partnership$/m);
    expect(text).toContain('DEMO-ONLY');
  });

  it('prints agencies and partnerships as separate JSON lists for scripts', async () => {
    const io = capture();
    await agenciesCommand(['--json'], io);
    const listing = JSON.parse(io.stdout.join('\n')) as { agencies: { id: string }[]; partnerships: { id: string }[] };
    expect(listing.agencies).toHaveLength(15);
    expect(listing.agencies).toContainEqual({ id: 'edinburgh-education', type: 'education', partnership: 'lothian-hscp', name: 'City of Edinburgh Council Education' });
    expect(listing.partnerships.map((p) => p.id)).toEqual(['lothian-hscp', 'fife-hscp']);
    expect(listing.agencies.map((a) => a.id)).not.toContain('lothian-hscp');
  });

  it('refuses an unknown option as a usage error', async () => {
    await expect(agenciesCommand(['--jsno'], capture())).rejects.toMatchObject({ name: 'UsageError', command: 'agencies' });
  });
});

describe('infoshare help', () => {
  it('shows one command’s usage, and exits 2 for a command that does not exist', async () => {
    const io = capture();
    expect(await helpCommand(['token'], io)).toBe(0);
    expect(io.stdout.join('\n')).toContain('infoshare token --agency <id>');
    const bad = capture();
    expect(await helpCommand(['tokne'], bad)).toBe(2);
    expect(bad.stderr.join('\n')).toContain('Unknown command "tokne"');
  });
});
