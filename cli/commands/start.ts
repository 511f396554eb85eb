/**
 * `infoshare start` (what `npm start` runs): Redis if needed, every service,
 * the demo partnership; prints every URL; Ctrl-C stops everything cleanly.
 */
import { startHub } from '../../services/hub.js';
import { SERVICE_NAMES } from '../../shared/config.js';
import { writeHubNote } from '../../shared/redis/hub-note.js';
import { RedisMissingError, RedisUnavailableError } from '../../shared/redis/server.js';
import { parseCommandArgs } from '../args.js';
import { EXIT_FAILURE, EXIT_OK, processIo, type Io } from '../exit.js';

export async function startCommand(args: string[], io: Io = processIo): Promise<number> {
  const { values } = parseCommandArgs('start', args, { 'no-fixtures': { type: 'boolean' } });
  let hub;
  try {
    hub = await startHub({ loadFixtures: !values['no-fixtures'], loadDemographics: !values['no-fixtures'] });
  } catch (err) {
    if (err instanceof RedisMissingError || err instanceof RedisUnavailableError) {
      io.err(err.message);
      return EXIT_FAILURE;
    }
    throw err;
  }
  const { config, urls } = hub;
  // So `infoshare replay` / `fixtures load` in another terminal find this hub's Redis and keys, REDIS_URL or not.
  const removeNote = writeHubNote(config, { redisUrl: hub.redisUrl, keyPrefix: config.keyPrefix });
  io.out('infoshare hub is running\n');
  for (const name of SERVICE_NAMES) {
    const url = urls[name];
    if (url) io.out(`  ${name.padEnd(11)} ${url}   (FHIR ${url}/fhir/metadata, health ${url}/health)`);
  }
  io.out(`\n  token endpoint  ${config.token.tokenUrl}`);
  io.out(`  JWKS            ${config.token.jwksUrl}`);
  io.out(`  Redis           ${hub.redisUrl}${config.redisUrl ? '' : `  (private, data in ${config.dataDir}/redis)`}`);
  io.out(
    values['no-fixtures']
      ? '\n  demo partnership not loaded (--no-fixtures)'
      : '\n  demo partnership loaded: `infoshare agencies` lists its agencies;\n  six agencies\' demographic extracts are in the index: `infoshare matching report`',
  );
  io.out('  get a token:    npx infoshare token --agency nhs-lothian');
  io.out('  replay:         npx infoshare replay fixtures/scenarios\n');
  io.out('Press Ctrl-C to stop.');

  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  io.out('\nStopping: services, then Redis…');
  removeNote();
  await hub.stop();
  io.out('Stopped.');
  return EXIT_OK;
}
