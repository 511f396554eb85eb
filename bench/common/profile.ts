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

/** Bytes between allocation samples (V8's default is 32 kB; finer for a few seconds of requests). */
const SAMPLING_BYTES = 4096;

/** Which profiles to take: the allocation sampler costs CPU of its own, so a CPU profile is best taken alone. */
export type ProfileKind = 'cpu' | 'heap';

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
        includeObjectsCollectedByMajorGC: true,
        includeObjectsCollectedByMinorGC: true,
      });
    }
  }

  /** Stops the profile and writes it as `<name>.cpuprofile` or `<name>.heapprofile`. */
  async stop(name: string): Promise<void> {
    const profile = this.kind === 'cpu' ? (await this.#session.post('Profiler.stop')).profile : (await this.#session.post('HeapProfiler.stopSampling')).profile;
    fs.mkdirSync(this.dir, { recursive: true });
    fs.writeFileSync(path.join(this.dir, `${name}.${this.kind}profile`), JSON.stringify(profile));
  }

  close(): void {
    if (this.#connected) this.#session.disconnect();
  }
}
