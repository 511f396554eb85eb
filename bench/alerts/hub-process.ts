/**
 * The hub under test in `bench:alerts`: every service (directory, MPI, alerts,
 * agency-sim) in ONE process of its own, as `infoshare start` runs it, so the
 * load generator's work does not compete with the hub's event loop. Reads
 * REDIS_URL and INFOSHARE_KEY_PREFIX from the environment, loads the demo
 * partnership, prints one line `READY <json urls>` when listening, and stops
 * cleanly on SIGTERM.
 */
import { startHub } from '../../services/hub.js';
import { createLogger } from '../../shared/log.js';

const log = createLogger('bench-alerts-hub', process.env.INFOSHARE_LOG_LEVEL ?? 'warn');
const hub = await startHub({ freePorts: true, log });
process.stdout.write(`READY ${JSON.stringify(hub.urls)}\n`);
process.once('SIGTERM', () => {
  void hub.stop().then(() => process.exit(0));
});
