import { USAGE, usageText } from './help.js';

describe('infoshare help', () => {
  it('lists every form of every command in the overview, so `matching review` and `audit bundle` are found without guessing', () => {
    const text = usageText();
    for (const form of [
      'infoshare matching report',
      'infoshare matching estimate',
      'infoshare matching review <task id>',
      'infoshare audit verify [--json]',
      'infoshare audit verify --checkpoint FILE',
      'infoshare audit verify --bundle FILE',
      'infoshare audit checkpoint --out FILE',
      'infoshare audit bundle <AuditEvent id>',
      'infoshare load <file> --agency <id>',
      'infoshare evidence',
    ]) {
      expect(text).toContain(`\n  ${form}`);
    }
    // Only the forms: option lines and descriptions stay in `infoshare help <command>`.
    expect(text).not.toContain('(remote forms also take');
    // (`token`'s usage continues on a line of options alone.)
    expect(text).not.toMatch(/^\s+\[--directory <url>\] \[--json\]$/m);
    for (const command of Object.keys(USAGE)) expect(text).toContain(`  infoshare ${command}`);
  });
});
