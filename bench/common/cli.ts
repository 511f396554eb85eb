/**
 * What every `npm run bench:*` script does the same way: read `--name value`
 * options, print progress on stderr, answer `--help` or a bad option with its
 * usage (exit 0 or 2), and keep its JSON result under bench/results/.
 */
import fs from 'node:fs';
import path from 'node:path';
import { PROJECT_ROOT } from '../../shared/config.js';

/** A bad or `--help` command line; the message (empty for `--help`) goes above the usage. */
export class UsageError extends Error {}

/** `--name value` / `--name=value` pairs, refusing names not in `known`. */
export function readFlags(argv: readonly string[], known: readonly string[]): ReadonlyMap<string, string> {
  const values = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--help' || arg === '-h') throw new UsageError('');
    const m = /^--([a-z0-9-]+)(?:=(.*))?$/.exec(arg);
    if (!m) throw new UsageError(`Unexpected argument ${arg}`);
    const value = m[2] ?? argv[++i];
    if (value === undefined) throw new UsageError(`--${m[1]} needs a value`);
    values.set(m[1]!, value);
  }
  const allowed = new Set(known);
  for (const name of values.keys()) if (!allowed.has(name)) throw new UsageError(`Unknown option --${name}`);
  return values;
}

/** A positive integer option (`100_000` allowed), or the fallback when absent. */
export function positiveFlag(values: ReadonlyMap<string, string>, name: string, fallback: number): number {
  const raw = values.get(name);
  if (raw === undefined) return fallback;
  const n = Number(raw.replace(/_/g, ''));
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`--${name} must be a positive integer (got ${raw})`);
  return n;
}

/** One of a fixed set of values, or the fallback when absent. */
export function choiceFlag<T extends string>(values: ReadonlyMap<string, string>, name: string, choices: readonly T[], fallback: T): T {
  const raw = values.get(name) ?? fallback;
  if (!(choices as readonly string[]).includes(raw)) throw new UsageError(`--${name} is ${choices.join(' or ')}`);
  return raw as T;
}

/** A progress printer: `[bench:<name> +12.3s] message` on stderr (stdout keeps the one JSON line). */
export function progressPrinter(name: string): (message: string) => void {
  return (message) => process.stderr.write(`[bench:${name} +${process.uptime().toFixed(1)}s] ${message}\n`);
}

/**
 * Parses the command line with `parse`; on a UsageError prints it with the
 * usage and exits (2 for a bad option, 0 for `--help`).
 */
export function optionsOrExit<T>(parse: (argv: readonly string[]) => T, usage: string, argv: readonly string[] = process.argv.slice(2)): T {
  try {
    return parse(argv);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    process.stderr.write(`${err.message ? `${err.message}\n` : ''}${usage}\n`);
    process.exit(err.message ? 2 : 0);
  }
}

/**
 * Keeps a run's result: `append` adds it to the list of runs in the file
 * (a history to compare against), `replace` writes it alone. `-` keeps nothing.
 */
export function keepResult(out: string, result: unknown, mode: 'append' | 'replace', progress: (message: string) => void): void {
  if (out === '-') return;
  const file = path.resolve(PROJECT_ROOT, out);
  let runs: unknown[] = [];
  if (mode === 'append' && fs.existsSync(file)) {
    const earlier = JSON.parse(fs.readFileSync(file, 'utf8')) as unknown;
    runs = Array.isArray(earlier) ? earlier : [earlier];
  }
  fs.mkdirSync(path.dirname(file), { recursive: true });
  if (mode === 'append') {
    runs.push(result);
    fs.writeFileSync(file, `${JSON.stringify(runs, null, 2)}\n`);
    progress(`appended to ${path.relative(PROJECT_ROOT, file)} (${runs.length} run(s))`);
  } else {
    fs.writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);
    progress(`written to ${path.relative(PROJECT_ROOT, file)}`);
  }
}
