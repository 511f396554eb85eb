import type { Io } from '../exit.js';
import { agenciesCommand } from './agencies.js';
import { helpCommand } from './help.js';

function capture(): Io & { stdout: string[]; stderr: string[] } {
  const stdout: string[] = [];
  const stderr: string[] = [];
  return { stdout, stderr, out: (t) => stdout.push(t), err: (t) => stderr.push(t) };
}

describe('infoshare agencies', () => {
  it('lists both partnerships and every demo agency with its type and partnership', async () => {
    const io = capture();
    expect(await agenciesCommand([], io)).toBe(0);
    const text = io.stdout.join('\n');
    expect(text).toMatch(/^lothian-hscp\s+partnership\s+Lothian Health & Social Care Partnership$/m);
    expect(text).toMatch(/^police-scotland-e-division\s+police\s+lothian-hscp\s+Police Scotland E Division$/m);
    expect(text).toMatch(/^vhk-emergency\s+emergency-department\s+fife-hscp\s+/m);
    expect(text).toContain('DEMO-ONLY');
  });

  it('prints JSON rows for scripts', async () => {
    const io = capture();
    await agenciesCommand(['--json'], io);
    const rows = JSON.parse(io.stdout.join('\n')) as { id: string; type: string; partnership: string }[];
    expect(rows).toHaveLength(17);
    expect(rows).toContainEqual({ id: 'edinburgh-education', type: 'education', partnership: 'lothian-hscp', name: 'City of Edinburgh Council Education' });
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
