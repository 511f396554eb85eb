/**
 * The hub under test in `bench:alerts`: the hub's services in ONE process of its
 * own, as `infoshare start` runs them (agency-sim apart, in its own process:
 * `INFOSHARE_BENCH_HUB_SERVICES` names the services to run here, each at the
 * port the bench reserved), so the load generator's work does not compete with
 * the hub's event loop. Reads
 * REDIS_URL and INFOSHARE_KEY_PREFIX from the environment, loads the demo
 * partnership, prints one line `READY <json urls>` when listening, and stops
 * cleanly on SIGTERM.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { startHub } from '../../services/hub.js';
import { SERVICE_NAMES, type ServiceName } from '../../shared/config.js';
import { createLogger } from '../../shared/log.js';

const log = createLogger('bench-alerts-hub', process.env.INFOSHARE_LOG_LEVEL ?? 'warn');
// The bench gives every service its port (INFOSHARE_<NAME>_PORT) and names the services this process runs.
const services = process.env.INFOSHARE_BENCH_HUB_SERVICES?.split(',').filter((s): s is ServiceName => (SERVICE_NAMES as readonly string[]).includes(s));
const hub = await startHub({ log, ...(services ? { services } : { freePorts: true }) });
process.stdout.write(`READY ${JSON.stringify(hub.urls)}\n`);
// How long work waits for this process's event loop (an accepted alert's request included), asked for by the
// bench with SIGUSR2: one line `EVENT_LOOP <json>` with the delay since the previous ask, then it starts again.
const delay = monitorEventLoopDelay({ resolution: 5 });
delay.enable();
process.on('SIGUSR2', () => {
  const ms = (ns: number) => Math.round(ns / 1e4) / 100;
  process.stdout.write(`EVENT_LOOP ${JSON.stringify({ p50Ms: ms(delay.percentile(50)), p99Ms: ms(delay.percentile(99)), maxMs: ms(delay.max) })}\n`);
  delay.reset();
});
process.once('SIGTERM', () => {
  void hub.stop().then(() => process.exit(0));
});
