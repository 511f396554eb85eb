/** `infoshare replay`: run scenario files against the hub and report each step. */
import path from 'node:path';
import { pino } from 'pino';
import { loadConfig, PROJECT_ROOT, SERVICE_NAMES, type ServiceName } from '../../shared/config.js';
import { runningKeyPrefix } from '../../shared/redis/hub-note.js';
import { findRunningRedis } from '../../shared/redis/server.js';
import { parseCommandArgs, urlOption } from '../args.js';
import { EXIT_FAILURE, EXIT_OK, processIo, UsageError, type Io } from '../exit.js';
import { RedisEvidenceReader, type EvidenceReader } from '../replay/evidence.js';
import { loadScenarios } from '../replay/load.js';
import { jsonReport, problemLines, scenarioErrorLines, scenarioHeading, stepLines, styleFor, summaryLine, type Style } from '../replay/report.js';
import { runScenarios } from '../replay/runner.js';
import { spawnHub, type SpawnedHub } from '../replay/spawn.js';
import { discoverTokenUrl, targetFromConfig, type ReplayTarget } from '../replay/target.js';

export const DEFAULT_SCENARIOS_DIR = path.join(PROJECT_ROOT, 'fixtures', 'scenarios');

export async function replayCommand(args: string[], io: Io = processIo, style: Style = styleFor(process.stdout)): Promise<number> {
  const { values, positionals } = parseCommandArgs(
    'replay',
    args,
    {
      spawn: { type: 'boolean' },
      keep: { type: 'boolean' },
      json: { type: 'boolean' },
      'token-url': { type: 'string' },
      redis: { type: 'string' },
      'key-prefix': { type: 'string' },
      'signing-key': { type: 'string' },
      ...Object.fromEntries(SERVICE_NAMES.map((s) => [s, { type: 'string' as const }])),
    },
    true,
  );
  const serviceUrls: Partial<Record<ServiceName, string>> = {};
  for (const name of SERVICE_NAMES) {
    const url = urlOption('replay', name, (values as Record<string, unknown>)[name] as string | undefined);
    if (url) serviceUrls[name] = url;
  }
  if (values.spawn && (Object.keys(serviceUrls).length || values['token-url'] || values.redis)) {
    throw new UsageError('--spawn starts its own hub: it cannot be combined with service URLs, --token-url or --redis', 'replay');
  }
  if (values.keep && !values.spawn) throw new UsageError('--keep only applies with --spawn', 'replay');

  const { scenarios, problems } = await loadScenarios(positionals.length ? positionals : [DEFAULT_SCENARIOS_DIR]);
  if (problems.length) {
    // A scenario that cannot be read is a broken test, not a usage error: report every one, then fail.
    if (values.json) io.out(jsonReport(undefined, problems));
    else io.err(['Some scenario files cannot be used:', ...problemLines(problems, style)].join('\n'));
    return EXIT_FAILURE;
  }

  // Hub logs go to stderr at warn level, so they never mix into the report (or break --json).
  const log = pino({ name: 'replay', level: process.env.INFOSHARE_LOG_LEVEL ?? 'warn' }, pino.destination(2));
  let spawned: SpawnedHub | undefined;
  let evidence: EvidenceReader | undefined;
  try {
    let target: ReplayTarget;
    if (values.spawn) {
      if (!values.json) io.out(style.dim('Starting a private hub for this replay…'));
      spawned = await spawnHub(log);
      target = spawned.target;
    } else {
      target = await targetFromFlags(serviceUrls, values);
    }
    if (target.redisUrl) evidence = RedisEvidenceReader.connect(target.redisUrl, target.keyPrefix);

    const report = await runScenarios(scenarios, {
      target,
      ...(evidence ? { evidence } : {}),
      ...(values.json
        ? {}
        : {
            onScenarioStart: (s) => io.out(scenarioHeading(s, style)),
            onStep: (_s, step) => io.out(stepLines(step, style).join('\n')),
            onScenarioEnd: (_s, result) => scenarioErrorLines(result, style).forEach((line) => io.out(line)),
          }),
    });
    if (values.json) {
      io.out(jsonReport(report, []));
    } else {
      io.out(summaryLine(report, style));
    }
    return report.passed ? EXIT_OK : EXIT_FAILURE;
  } finally {
    await evidence?.close();
    await spawned?.stop(values.keep ?? false);
  }
}

async function targetFromFlags(
  serviceUrls: Partial<Record<ServiceName, string>>,
  values: { 'token-url'?: string | undefined; redis?: string | undefined; 'key-prefix'?: string | undefined; 'signing-key'?: string | undefined },
): Promise<ReplayTarget> {
  const env = { ...process.env };
  if (values['key-prefix']) env.INFOSHARE_KEY_PREFIX = values['key-prefix'];
  if (values['signing-key']) env.INFOSHARE_SIGNING_KEY_FILE = path.resolve(values['signing-key']);
  if (serviceUrls.directory) env.INFOSHARE_DIRECTORY_URL = serviceUrls.directory;
  let config;
  try {
    config = loadConfig(env);
  } catch (err) {
    throw new UsageError((err as Error).message, 'replay');
  }
  // Found the way the hub's own commands find it: REDIS_URL, the private server's url file, or the running hub's note.
  const redisUrl = redisOption(values.redis) ?? (await findRunningRedis(config));
  const base = { ...targetFromConfig(config, redisUrl), keyPrefix: runningKeyPrefix(config, env) };
  const explicitTokenUrl = urlOption('replay', 'token-url', values['token-url']);
  const tokenUrl = explicitTokenUrl ?? (serviceUrls.directory ? await discoverTokenUrl(serviceUrls.directory, base.tokenUrl) : base.tokenUrl);
  return { ...base, urls: { ...base.urls, ...serviceUrls }, tokenUrl };
}

function redisOption(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  if (!/^rediss?:\/\/./.test(value)) throw new UsageError(`--redis must be a redis:// URL, got ${JSON.stringify(value)}`, 'replay');
  return value;
}
