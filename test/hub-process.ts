/**
 * A whole hub in a child process, for tests that kill it for real (SIGKILL at
 * a failpoint, shared/runtime/failpoints.ts). Reads REDIS_URL and
 * INFOSHARE_KEY_PREFIX from the environment; loads the demo partnership unless
 * INFOSHARE_TEST_SKIP_FIXTURES=1, and the CareTeams' demo people into the index unless
 * INFOSHARE_TEST_SKIP_DEMO_PEOPLE=1 (or fixtures are skipped); prints one line `READY <json urls>` when
 * listening; stops cleanly on SIGTERM.
 *
 * Run with: node --import tsx test/hub-process.ts
 */
import { startHub } from '../services/hub.js';
import { createLogger } from '../shared/log.js';

const log = createLogger('hub-process', process.env.INFOSHARE_LOG_LEVEL ?? 'warn');
const loadFixtures = process.env.INFOSHARE_TEST_SKIP_FIXTURES !== '1';
const loadDemoPeople = loadFixtures && process.env.INFOSHARE_TEST_SKIP_DEMO_PEOPLE !== '1';
const hub = await startHub({ freePorts: true, loadFixtures, loadDemoPeople, log });
process.stdout.write(`READY ${JSON.stringify(hub.urls)}\n`);
process.once('SIGTERM', () => {
  void hub.stop().then(() => process.exit(0));
});
