/**
 * `node dist/bench/common/profile-summary.js <file.cpuprofile|file.heapprofile> [--top 30] [--by function|file] [--per N]`
 * — a profile written by profile.ts, summarised by function (or by file): each one's own
 * share (self) and with everything it called (total). `--per N` divides by N (the reads
 * the profile covered: CPU ms or allocated kB per read).
 */
import fs from 'node:fs';
import { choiceFlag, optionsOrExit, positiveFlag, readFlags, UsageError } from './cli.js';

interface CallFrame {
  readonly functionName: string;
  readonly url: string;
  readonly lineNumber: number;
}

interface Node {
  readonly id?: number;
  readonly callFrame: CallFrame;
  readonly children?: readonly (Node | number)[];
  readonly selfSize?: number;
  readonly hitCount?: number;
}

interface Row {
  self: number;
  total: number;
}

const USAGE = 'node dist/bench/common/profile-summary.js <file.cpuprofile|file.heapprofile> [--top 30] [--by function|file] [--per N]';

function parse(argv: readonly string[]) {
  const file = argv[0];
  if (!file || file.startsWith('--')) throw new UsageError('Name a profile file');
  const flags = readFlags(argv.slice(1), ['top', 'by', 'per']);
  const by = choiceFlag(flags, 'by', ['function', 'file'] as const, 'function');
  return { file, top: positiveFlag(flags, 'top', 30), by, per: positiveFlag(flags, 'per', 1) };
}

function keyOf(frame: CallFrame, by: 'function' | 'file'): string {
  const url = frame.url.replace(/^file:\/\//, '').replace(/^.*\/(dist|node_modules)\//, '$1/');
  if (by === 'file') return url || `(${frame.functionName || 'native'})`;
  return `${frame.functionName || '(anonymous)'} ${url}:${frame.lineNumber + 1}`;
}

function main(): void {
  const { file, top, by, per } = optionsOrExit(parse, USAGE);
  const profile = JSON.parse(fs.readFileSync(file, 'utf8')) as { head?: Node; nodes?: Node[]; timeDeltas?: number[]; samples?: number[] };
  const rows = new Map<string, Row>();
  let grand = 0;
  let unit: string;
  if (profile.head) {
    // Heap profile: a tree; selfSize is bytes allocated at that frame.
    unit = 'kB';
    const walk = (node: Node, onStack: Set<string>): number => {
      const key = keyOf(node.callFrame, by);
      let total = node.selfSize ?? 0;
      for (const child of node.children ?? []) total += walk(child as Node, new Set([...onStack, key]));
      const row = rows.get(key) ?? { self: 0, total: 0 };
      row.self += node.selfSize ?? 0;
      if (!onStack.has(key)) row.total += total;
      rows.set(key, row);
      return total;
    };
    grand = walk(profile.head, new Set());
    for (const row of rows.values()) {
      row.self /= 1000;
      row.total /= 1000;
    }
    grand /= 1000;
  } else {
    // CPU profile: flat nodes with hit counts; time per sample from timeDeltas.
    unit = 'ms';
    const nodes = new Map((profile.nodes ?? []).map((n) => [n.id!, n]));
    const samples = profile.samples ?? [];
    const deltas = profile.timeDeltas ?? [];
    const msPerHit = new Map<number, number>();
    samples.forEach((id, i) => msPerHit.set(id, (msPerHit.get(id) ?? 0) + (deltas[i] ?? 0) / 1000));
    const parent = new Map<number, number>();
    for (const n of nodes.values()) for (const c of n.children ?? []) parent.set(c as number, n.id!);
    for (const [id, ms] of msPerHit) {
      grand += ms;
      const seen = new Set<string>();
      let cur: number | undefined = id;
      let first = true;
      while (cur !== undefined) {
        const key = keyOf(nodes.get(cur)!.callFrame, by);
        const row = rows.get(key) ?? { self: 0, total: 0 };
        if (first) row.self += ms;
        if (!seen.has(key)) row.total += ms;
        seen.add(key);
        rows.set(key, row);
        first = false;
        cur = parent.get(cur);
      }
    }
  }
  const fmt = (x: number) => (x / per).toFixed(per > 1 ? 3 : 1).padStart(10);
  process.stdout.write(`${file}: ${fmt(grand)} ${unit}${per > 1 ? ` (÷ ${per})` : ''}\n   self${' '.repeat(5)}total\n`);
  const sorted = [...rows.entries()].sort((a, b) => b[1].self - a[1].self).slice(0, top);
  for (const [key, row] of sorted) process.stdout.write(`${fmt(row.self)}${fmt(row.total)}  ${key}\n`);
}

main();
