/**
 * Loaded into a hub service a benchmark runs in a process of its own (`node --import …/pause-probe.js`,
 * `startServiceProcess(…, { pauseProbe: true })`): the service's own event-loop delay, GC pauses and JS heap
 * allocated (`PauseMeter`) over the slices the benchmark names, asked for over the IPC channel. Benchmarks only.
 */
import { PauseMeter } from './pauses.js';

/** What the benchmark asks; the process answers `{ id, summary? }` once done. */
export interface PauseProbeRequest {
  readonly id: number;
  readonly op: 'resume' | 'pause' | 'finish';
}

const meter = new PauseMeter();
process.on('message', (message: PauseProbeRequest) => {
  if (message.op === 'resume') meter.resume();
  else if (message.op === 'pause') meter.pause();
  process.send?.({ id: message.id, ...(message.op === 'finish' ? { summary: meter.finish() } : {}) });
});
// The channel must not keep the service alive past its own shutdown.
process.channel?.unref();
