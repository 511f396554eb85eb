/**
 * `infoshare start` (what `npm start` runs): Redis if needed, every service,
 * the demo partnership; prints every URL; Ctrl-C stops everything cleanly.
 */
import path from 'node:path';
import { DEMO_AGENCIES } from '../../fixtures/partnership/demo-agencies.js';
import { DEMO_HUBS, demoHubEnv, isDemoPartnership } from '../../fixtures/partnership/demo-hubs.js';
import { loadAlertsConfig } from '../../services/alerts/config.js';
import { startHub } from '../../services/hub.js';
import { DEFAULT_PARTNERSHIP, loadConfig, SERVICE_NAMES } from '../../shared/config.js';
import { logFileOf } from '../../shared/log.js';
import { writeHubNote } from '../../shared/redis/hub-note.js';
import { RedisMissingError, RedisUnavailableError } from '../../shared/redis/server.js';
import { parseCommandArgs } from '../args.js';
import { EXIT_FAILURE, EXIT_OK, UsageError, processIo, type Io } from '../exit.js';
import { hubLocationPrefix, portInUseAdvice } from '../hub-location.js';

export async function startCommand(args: string[], io: Io = processIo): Promise<number> {
  const { values } = parseCommandArgs('start', args, { 'no-fixtures': { type: 'boolean' }, partnership: { type: 'string' } });
  const partnership = values.partnership;
  if (partnership !== undefined && !isDemoPartnership(partnership)) {
    throw new UsageError(`--partnership must be one of ${Object.keys(DEMO_HUBS).join(', ')}, got ${JSON.stringify(partnership)}`, 'start');
  }
  // The hub's JSON log goes to a file unless told otherwise: in the terminal it scrolls the URLs below out of sight.
  // Set before anything logs, and inherited by the processes the services fork.
  const hubEnv = partnership ? demoHubEnv(partnership, process.env) : process.env;
  process.env.INFOSHARE_LOG_FILE ??= path.join(loadConfig(hubEnv).dataDir, 'logs', 'hub.log');
  const logFile = logFileOf(process.env.INFOSHARE_LOG_FILE);
  let hub;
  try {
    hub = await startHub({ loadFixtures: !values['no-fixtures'], loadDemographics: !values['no-fixtures'], ...(partnership ? { partnership } : {}) });
  } catch (err) {
    if (err instanceof RedisMissingError || err instanceof RedisUnavailableError) {
      io.err(err.message);
      return EXIT_FAILURE;
    }
    if (isPortInUse(err)) {
      io.err(portInUseAdvice(err.port, Number(hubEnv.INFOSHARE_PORT_OFFSET || 0)));
      return EXIT_FAILURE;
    }
    throw err;
  }
  const { config, urls } = hub;
  // So `infoshare replay` / `fixtures load` in another terminal find this hub's Redis and keys, REDIS_URL or not.
  const removeNote = writeHubNote(config, { redisUrl: hub.redisUrl, keyPrefix: config.keyPrefix });
  const { partnership: serving } = config;
  io.out(`infoshare hub is running — partnership ${serving.id}${serving.peerHubs.length ? `; peer hubs: ${serving.peerHubs.join(', ')} (their agencies are served there; alerts to them are forwarded)` : ''}\n`);
  for (const name of SERVICE_NAMES) {
    const url = urls[name];
    if (!url) continue;
    // The simulator is not a FHIR server of the hub: it has no /fhir/metadata, but one inbox per agency.
    const about = name === 'agency-sim' ? `what an agency received ${url}/agencies/<id>/received` : `FHIR ${url}/fhir/metadata`;
    io.out(`  ${name.padEnd(11)} ${url}   (${about}, health ${url}/health)`);
  }
  // Alerts are delivered in the alerts service's process, or in processes it forks (stopped with it).
  const deliveryProcesses = loadAlertsConfig(hubEnv).deliveryProcesses;
  io.out(
    deliveryProcesses > 0
      ? `  alerts are delivered by ${deliveryProcesses} delivery process${deliveryProcesses === 1 ? '' : 'es'} of their own (INFOSHARE_ALERTS_DELIVERY_PROCESSES), stopped with the hub`
      : '  alerts are delivered from the alerts service’s own process (INFOSHARE_ALERTS_DELIVERY_PROCESSES=0)',
  );
  io.out(`\n  token endpoint  ${config.token.tokenUrl}`);
  io.out(`  JWKS            ${config.token.jwksUrl}`);
  io.out(`  Redis           ${hub.redisUrl}${config.redisUrl ? '' : `  (private, data in ${config.dataDir}/redis)`}`);
  // A hub moved off the default ports (or the demo's Fife hub) is reached from another terminal only with the same settings.
  const here = hubLocationPrefix(partnership ? demoHubEnv(partnership, process.env) : process.env);
  // The auditor's page is the audit service's root; it signs in with a statutory partner's token (system/AuditEvent.read).
  const auditor = DEMO_AGENCIES.find((a) => a.partnership === serving.id && a.type === 'nhs-board')?.id ?? 'nhs-lothian';
  if (urls.audit) io.out(`  auditor's page  ${urls.audit}/   (paste a token: ${here}npx infoshare token --agency ${auditor} --scope system/AuditEvent.read)`);
  io.out(
    values['no-fixtures']
      ? '\n  demo partnership not loaded (--no-fixtures)'
      : partnership
        ? `\n  demo partnerships loaded: \`infoshare agencies\` lists the agencies (this hub serves ${serving.id}'s)`
        : `\n  demo partnership loaded: \`infoshare agencies\` lists its agencies;\n  six agencies' demographic extracts are in the index: \`${here}npx infoshare matching report\``,
  );
  // An agency this hub serves, signing in here (a peer's agency signs in at its own hub).
  const demoAgency = DEMO_AGENCIES.find((a) => a.partnership === serving.id)?.id ?? 'nhs-lothian';
  io.out(`  get a token:    ${here}npx infoshare token --agency ${demoAgency}`);
  io.out(
    serving.id === DEFAULT_PARTNERSHIP
      ? `  replay:         ${here}npx infoshare replay fixtures/scenarios\n`
      : `  replay:         the shipped scenarios act as ${DEFAULT_PARTNERSHIP}'s agencies: replay them at its hub\n`,
  );
  io.out(
    logFile === undefined
      ? '  logs:           this terminal (INFOSHARE_LOG_FILE=-)\n'
      : `  logs:           ${logFile}   (\`tail -f ${logFile}\`; INFOSHARE_LOG_FILE=- npm start logs here instead)\n`,
  );
  io.out('Press Ctrl-C to stop.');

  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  io.out('\nStopping: services, then Redis…');
  removeNote();
  if (!(await hub.stop())) {
    io.err(
      `The services did not close within ${hub.config.shutdownSeconds} s (INFOSHARE_SHUTDOWN_SECONDS): Redis was stopped regardless, and what it had accepted is in its append-only file. Exiting.`,
    );
    // What did not close (a worker waiting on Redis) would keep this process alive: leave without it.
    process.exit(EXIT_FAILURE);
  }
  io.out('Stopped.');
  return EXIT_OK;
}

/** A service's port taken by another process (Node's listen error). */
function isPortInUse(err: unknown): err is NodeJS.ErrnoException & { port: number } {
  return err instanceof Error && (err as NodeJS.ErrnoException).code === 'EADDRINUSE' && typeof (err as { port?: unknown }).port === 'number';
}
