/**
 * Loaded into a hub service a benchmark runs in a process of its own (`node --import …/pause-probe.js`,
 * `startServiceProcess(…, { pauseProbe: true })`): the service's own event-loop delay, GC pauses and JS heap
 * allocated (`PauseMeter`) over the slices the benchmark names, and — when asked — a CPU or allocation profile
 * of the process over each slice (`Profiler`), asked for over the IPC channel. Benchmarks only.
 */
import { PauseMeter } from './pauses.js';
import { Profiler, type ProfileKind } from './profile.js';

/** What the benchmark asks; the process answers `{ id, summary? }` once done. */
export type PauseProbeRequest =
  | { readonly id: number; readonly op: 'resume' | 'pause' | 'finish' }
  /** Start profiling this process (`kind`), writing under `dir`; `profile-stop` writes `<name>.<kind>profile`. */
  | { readonly id: number; readonly op: 'profile-start'; readonly kind: ProfileKind; readonly dir: string }
  | { readonly id: number; readonly op: 'profile-stop'; readonly name: string };

const meter = new PauseMeter();
let profiler: Profiler | undefined;

async function answer(message: PauseProbeRequest): Promise<object> {
  switch (message.op) {
    case 'resume':
      meter.resume();
      return {};
    case 'pause':
      meter.pause();
      return {};
    case 'finish':
      profiler?.close();
      return { summary: meter.finish() };
    case 'profile-start':
      profiler ??= new Profiler(message.dir, message.kind);
      await profiler.start();
      return {};
    case 'profile-stop':
      await profiler?.stop(message.name);
      return {};
  }
}

process.on('message', (message: PauseProbeRequest) => {
  void answer(message).then(
    (reply) => process.send?.({ id: message.id, ...reply }),
    (err: unknown) => process.send?.({ id: message.id, error: err instanceof Error ? err.message : String(err) }),
  );
});
// The channel must not keep the service alive past its own shutdown.
process.channel?.unref();
