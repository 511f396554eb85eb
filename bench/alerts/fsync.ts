/**
 * What the disk under the bench's Redis made each write wait, for the fixed-rate phase's figures (session 27).
 *
 * With `appendfsync always` redis-server appends and fsyncs in its main thread once per event-loop turn that
 * wrote anything, before it replies to any command of that turn, reads included: every round trip of an accept or
 * of a delivery attempt waits for the turn in progress and then its own fsync. Those waits are not CPU, so the
 * CPU figures (`latencyCpuMsPerDelivery`, `latencyCpuDemand`) do not show them; the quiet runs of sessions 20-22
 * and 23-26 had the same CPU per delivery at the fixed rate and end-to-end p99s ten times apart.
 *
 * Two readings, both of the machine rather than of the hub:
 * - `diskFsyncProbe`: a few hundred appends of an AOF-sized record, each followed by `fdatasync`, in the directory
 *   the bench's Redis keeps its AOF in, while nothing else of the bench runs;
 * - `AofFsyncStalls`: Redis's own latency monitor for the `aof-fsync-always` event over the fixed-rate phase —
 *   per second with an fsync of 1 ms or more, the longest one (`LATENCY HISTORY`: Redis keeps maxima, not counts).
 */
import fs from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import type { Redis } from 'ioredis';
import { summarise } from '../common/latency.js';

/** Appends per probe (at ~4 ms each on this machine's disk, under a second and a half). */
const PROBE_WRITES = 300;
/** About one outbox entry with its stream copy, as the AOF gets it per accept. */
const PROBE_BYTES = 4096;

export interface DiskFsyncProbe {
  readonly writes: number;
  readonly bytes: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
  readonly meanMs: number;
}

/** `fdatasync` after each of `writes` appends of `bytes` to a file of its own in `dir` (removed after). */
export function diskFsyncProbe(dir: string, writes = PROBE_WRITES, bytes = PROBE_BYTES): DiskFsyncProbe {
  const file = path.join(dir, `fsync-probe-${process.pid}.bin`);
  const fd = fs.openSync(file, 'a');
  const record = Buffer.alloc(bytes, 'x');
  const samples: number[] = [];
  try {
    for (let i = 0; i < writes; i++) {
      fs.writeSync(fd, record);
      const start = performance.now();
      fs.fdatasyncSync(fd);
      samples.push(performance.now() - start);
    }
  } finally {
    fs.closeSync(fd);
    fs.rmSync(file, { force: true });
  }
  const s = summarise(samples);
  return { writes, bytes, p50Ms: s.p50Ms, p99Ms: s.p99Ms, maxMs: s.maxMs, meanMs: s.meanMs };
}

export interface AofFsyncSeconds {
  /** Seconds of the phase in which Redis saw an `aof-fsync-always` of 1 ms or more. */
  readonly seconds: number;
  /** The median and largest of those seconds' longest fsync (ms). */
  readonly p50OfMaxMs: number;
  readonly maxMs: number;
}

/** Redis's latency monitor on the bench's private server, for the `aof-fsync-always` event over one phase. */
export class AofFsyncStalls {
  private since = 0;

  constructor(private readonly redis: Redis) {}

  /** Records every event of 1 ms or more from now (the server is the bench's own: nothing else reads it). */
  async start(): Promise<void> {
    await this.redis.config('SET', 'latency-monitor-threshold', '1');
    await this.redis.call('LATENCY', 'RESET');
    this.since = Math.floor(Date.now() / 1000);
  }

  /** The seconds since `start` with a slow fsync, and their longest ones. */
  async read(): Promise<AofFsyncSeconds> {
    const history = (await this.redis.call('LATENCY', 'HISTORY', 'aof-fsync-always')) as [number, number][];
    const maxima = history.filter(([at]) => Number(at) >= this.since).map(([, ms]) => Number(ms));
    const s = summarise(maxima);
    return { seconds: maxima.length, p50OfMaxMs: s.p50Ms, maxMs: s.maxMs };
  }
}
