/**
 * Where a measured run's CPU or garbage goes: a CPU profile, or an allocation profile (V8's
 * sampling heap profiler, counting objects the young and old collections freed too — every
 * allocation, not only what survived) of this process over one stretch of a benchmark,
 * written as `<name>.cpuprofile` / `<name>.heapprofile` (open in Chrome DevTools, or
 * summarise by function with `node dist/bench/common/profile-summary.js <file>`).
 */
import fs from 'node:fs';
import { Session } from 'node:inspector/promises';
import path from 'node:path';
import v8 from 'node:v8';
import vm from 'node:vm';

/** Bytes between allocation samples (V8's default is 32 kB; finer for a few seconds of requests). */
const SAMPLING_BYTES = 4096;

/**
 * Which profiles to take: the allocation sampler costs CPU of its own, so a CPU profile is best taken alone.
 * `survivors` samples allocations as `heap` does but keeps only what was still on the heap when the stretch
 * ended: what outlived a young collection (each survivor is copied, then promoted — the long scavenges and the
 * major collections), plus what is really kept. `promoted` keeps what outlived a young collection even when a
 * major collection freed it before the stretch ended: everything a scavenge had to copy or promote.
 */
export type ProfileKind = 'cpu' | 'heap' | 'survivors' | 'promoted';

export class Profiler {
  readonly #session = new Session();
  #connected = false;

  constructor(
    private readonly dir: string,
    private readonly kind: ProfileKind,
  ) {}

  async start(): Promise<void> {
    if (!this.#connected) {
      this.#session.connect();
      this.#connected = true;
      await this.#session.post('Profiler.enable');
      await this.#session.post('HeapProfiler.enable');
    }
    if (this.kind === 'cpu') await this.#session.post('Profiler.start');
    else {
      await this.#session.post('HeapProfiler.startSampling', {
        samplingInterval: SAMPLING_BYTES,
        includeObjectsCollectedByMajorGC: this.kind === 'heap' || this.kind === 'promoted',
        includeObjectsCollectedByMinorGC: this.kind === 'heap',
      });
    }
  }

  /** Stops the profile and writes it as `<name>.cpuprofile` or `<name>.heapprofile` (`survivors` too). */
  async stop(name: string): Promise<void> {
    // What was allocated since the last scavenge has not been judged yet: one scavenge now, so that what the
    // profile keeps is what outlived a young collection, not the stretch's last few requests' garbage.
    if (this.kind === 'survivors' || this.kind === 'promoted') minorGc();
    const profile = this.kind === 'cpu' ? (await this.#session.post('Profiler.stop')).profile : (await this.#session.post('HeapProfiler.stopSampling')).profile;
    fs.mkdirSync(this.dir, { recursive: true });
    fs.writeFileSync(path.join(this.dir, `${name}.${this.kind === 'cpu' ? 'cpu' : 'heap'}profile`), JSON.stringify(profile));
  }

  close(): void {
    if (this.#connected) this.#session.disconnect();
  }
}

/** A young-generation collection now (V8's `gc`, exposed for this call only: benchmarks' profiles). */
function minorGc(): void {
  v8.setFlagsFromString('--expose-gc');
  const gc = vm.runInNewContext('gc') as (options: { type: 'minor' }) => void;
  gc({ type: 'minor' });
}

interface CallFrame {
  readonly functionName: string;
  readonly url: string;
  readonly lineNumber: number;
}

interface ProfileNode {
  readonly id?: number;
  readonly callFrame: CallFrame;
  /** Heap profile: the child nodes; CPU profile: their ids. */
  readonly children?: readonly (ProfileNode | number)[];
  /** Heap profile: bytes allocated at this frame. */
  readonly selfSize?: number;
}

/** A `.heapprofile` (a tree from `head`) or a `.cpuprofile` (flat `nodes`, `samples` with their `timeDeltas` in µs). */
export interface SavedProfile {
  readonly head?: ProfileNode;
  readonly nodes?: readonly ProfileNode[];
  readonly samples?: readonly number[];
  readonly timeDeltas?: readonly number[];
}

/** One function's (or file's) share: at its own frames (self) and with everything it called (total). */
export interface ProfileRow {
  self: number;
  total: number;
}

/**
 * A profile summed up by function (`name file:line`) or by file: kB allocated for a heap profile, ms for a
 * CPU profile. A frame recursing into itself counts once in its total.
 */
export function summariseProfile(profile: SavedProfile, by: 'function' | 'file'): { unit: 'kB' | 'ms'; grand: number; rows: Map<string, ProfileRow> } {
  const rows = new Map<string, ProfileRow>();
  const rowOf = (key: string): ProfileRow => {
    let row = rows.get(key);
    if (!row) rows.set(key, (row = { self: 0, total: 0 }));
    return row;
  };
  if (profile.head) {
    const walk = (node: ProfileNode, onStack: ReadonlySet<string>): number => {
      const key = keyOf(node.callFrame, by);
      const inner = new Set(onStack).add(key);
      let total = node.selfSize ?? 0;
      for (const child of node.children ?? []) if (typeof child !== 'number') total += walk(child, inner);
      const row = rowOf(key);
      row.self += (node.selfSize ?? 0) / 1000;
      if (!onStack.has(key)) row.total += total / 1000;
      return total;
    };
    return { unit: 'kB', grand: walk(profile.head, new Set()) / 1000, rows };
  }
  const nodes = new Map((profile.nodes ?? []).map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of nodes.values()) for (const c of n.children ?? []) if (typeof c === 'number' && n.id !== undefined) parent.set(c, n.id);
  const msAt = new Map<number, number>();
  const deltas = profile.timeDeltas ?? [];
  (profile.samples ?? []).forEach((id, i) => msAt.set(id, (msAt.get(id) ?? 0) + (deltas[i] ?? 0) / 1000));
  let grand = 0;
  for (const [id, ms] of msAt) {
    grand += ms;
    const seen = new Set<string>();
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const node = nodes.get(at);
      if (!node) break;
      const key = keyOf(node.callFrame, by);
      const row = rowOf(key);
      if (at === id) row.self += ms;
      if (!seen.has(key)) row.total += ms;
      seen.add(key);
    }
  }
  return { unit: 'ms', grand, rows };
}

function keyOf(frame: CallFrame, by: 'function' | 'file'): string {
  const url = frame.url.replace(/^file:\/\//, '').replace(/^.*\/(dist|node_modules)\//, '$1/');
  if (by === 'file') return url || `(${frame.functionName || 'native'})`;
  return `${frame.functionName || '(anonymous)'} ${url}:${frame.lineNumber + 1}`;
}
