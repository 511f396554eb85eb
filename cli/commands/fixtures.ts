/**
 * `infoshare fixtures load`: loads the demo partnership (and, with
 * `--demographics`, the demo agencies' extracts into the index) into the Redis
 * at REDIS_URL or the running hub's — what docker-compose's one-shot
 * `fixtures` container runs. Idempotent.
 */
import { loadConfig } from '../../shared/config.js';
import { createLogger } from '../../shared/log.js';
import { connectRedis } from '../../shared/redis/connection.js';
import { runningKeyPrefix } from '../../shared/redis/hub-note.js';
import { findRunningRedis } from '../../shared/redis/server.js';
import { buildServiceDeps } from '../../shared/runtime/deps.js';
import { loadDemoFixtures } from '../../services/directory/fixtures.js';
import { loadDemoDemographics, loadDemoPeople } from '../../services/mpi/fixtures.js';
import { parseCommandArgs } from '../args.js';
import { EXIT_FAILURE, EXIT_OK, processIo, UsageError, type Io } from '../exit.js';

export async function fixturesCommand(args: string[], io: Io = processIo): Promise<number> {
  const [sub, ...rest] = args;
  if (sub !== 'load') throw new UsageError(`unknown subcommand "${sub ?? ''}": the only one is \`fixtures load\``, 'fixtures');
  const { values } = parseCommandArgs('fixtures', rest, { demographics: { type: 'boolean' } });
  const found = loadConfig();
  const url = await findRunningRedis(found);
  // Load under the running hub's key prefix unless this environment names one.
  const config = loadConfig({ ...process.env, INFOSHARE_KEY_PREFIX: runningKeyPrefix(found, process.env) });
  if (!url) {
    io.err('No Redis to load into: set REDIS_URL, or start the hub (`infoshare start`)');
    return EXIT_FAILURE;
  }
  const log = createLogger('fixtures', config.logLevel === 'info' ? 'warn' : config.logLevel);
  const redis = connectRedis(url);
  try {
    const deps = await buildServiceDeps(config, redis, log);
    const directory = await loadDemoFixtures(deps, { agencySimUrl: config.internalUrls['agency-sim'] });
    io.out(`demo partnership: ${Object.entries(directory).map(([type, c]) => `${type} ${c.created} created, ${c.updated} updated, ${c.unchanged} unchanged`).join('; ')}`);
    const people = await loadDemoPeople(deps);
    io.out(`demo people: ${Object.entries(people).map(([agency, c]) => `${agency} ${c.registered} registered, ${c.unchanged} unchanged`).join('; ')}`);
    if (values.demographics) {
      const index = await loadDemoDemographics(deps);
      io.out(`demographics: ${Object.entries(index).map(([agency, c]) => `${agency} ${c.registered} registered, ${c.unchanged} unchanged`).join('; ')}`);
    }
    return EXIT_OK;
  } finally {
    await redis.quit().catch(() => redis.disconnect());
  }
}
