/**
 * `node dist/bench/common/profile-summary.js <file.cpuprofile|file.heapprofile> [--top 30] [--by function|file] [--per N]`
 * — a profile written by profile.ts, summarised by function (or by file): each one's own
 * share (self) and with everything it called (total). `--per N` divides by N (the reads
 * the profile covered: CPU ms or allocated kB per read).
 */
import fs from 'node:fs';
import { choiceFlag, optionsOrExit, positiveFlag, readFlags, UsageError } from './cli.js';
import { summariseProfile, type SavedProfile } from './profile.js';

const USAGE = 'node dist/bench/common/profile-summary.js <file.cpuprofile|file.heapprofile> [--top 30] [--by function|file] [--per N]';

function parse(argv: readonly string[]) {
  const file = argv[0];
  if (!file || file.startsWith('--')) throw new UsageError('Name a profile file');
  const flags = readFlags(argv.slice(1), ['top', 'by', 'per']);
  const by = choiceFlag(flags, 'by', ['function', 'file'] as const, 'function');
  return { file, top: positiveFlag(flags, 'top', 30), by, per: positiveFlag(flags, 'per', 1) };
}

function main(): void {
  const { file, top, by, per } = optionsOrExit(parse, USAGE);
  const profile = JSON.parse(fs.readFileSync(file, 'utf8')) as SavedProfile;
  const { unit, grand, rows } = summariseProfile(profile, by);
  const fmt = (x: number) => (x / per).toFixed(per > 1 ? 3 : 1).padStart(10);
  process.stdout.write(`${file}: ${fmt(grand)} ${unit}${per > 1 ? ` (÷ ${per})` : ''}\n   self${' '.repeat(5)}total\n`);
  const sorted = [...rows.entries()].sort((a, b) => b[1].self - a[1].self).slice(0, top);
  for (const [key, row] of sorted) process.stdout.write(`${fmt(row.self)}${fmt(row.total)}  ${key}\n`);
}

main();
