/**
 * `infoshare dead-relays list|redrive`: on the hub's host, its operator's view of the dead-letter reports this hub
 * relays to another partnership's hub that died here (that hub refused them, or was down longer than the retry
 * window) — re-drivable by no one who can sign in here (services/alerts/dead-relays.ts) — and their re-drive once
 * that hub answers again. Acts on the hub's Redis (REDIS_URL or the running hub's), as `fixtures load` and
 * `audit verify` do; `--partnership` names the demo partnership whose hub it is (`infoshare start --partnership`).
 */
import { randomUUID } from 'node:crypto';
import { DEMO_HUBS, demoHubEnv, isDemoPartnership } from '../../fixtures/partnership/demo-hubs.js';
import { loadConfig } from '../../shared/config.js';
import { createLogger } from '../../shared/log.js';
import { connectRedis } from '../../shared/redis/connection.js';
import { runningKeyPrefix } from '../../shared/redis/hub-note.js';
import { findRunningRedis } from '../../shared/redis/server.js';
import { buildServiceDeps } from '../../shared/runtime/deps.js';
import { loadAlertsConfig } from '../../services/alerts/config.js';
import { deadRelaysOf, redriveDeadRelay, type DeadRelay } from '../../services/alerts/dead-relays.js';
import { createAlertsContext } from '../../services/alerts/module.js';
import { parseCommandArgs } from '../args.js';
import { EXIT_FAILURE, EXIT_OK, processIo, UsageError, type Io } from '../exit.js';

const OPTIONS = { partnership: { type: 'string' }, all: { type: 'boolean' }, json: { type: 'boolean' } } as const;

export async function deadRelaysCommand(args: string[], io: Io = processIo, env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const [sub, ...rest] = args;
  if (sub !== 'list' && sub !== 'redrive') throw new UsageError(`unknown subcommand "${sub ?? ''}": \`dead-relays list\` or \`dead-relays redrive\``, 'dead-relays');
  const { values, positionals } = parseCommandArgs('dead-relays', rest, OPTIONS, sub === 'redrive');
  if (sub === 'redrive' && values.all === (positionals.length > 0)) throw new UsageError('name the reports to re-drive (their ids, as `dead-relays list` shows them), or --all', 'dead-relays');
  if (sub === 'list' && values.all) throw new UsageError('--all is for `dead-relays redrive`', 'dead-relays');
  const { partnership } = values;
  if (partnership !== undefined && !isDemoPartnership(partnership)) {
    throw new UsageError(`--partnership must be one of ${Object.keys(DEMO_HUBS).join(', ')}, got ${JSON.stringify(partnership)}`, 'dead-relays');
  }
  const hubEnv = partnership ? demoHubEnv(partnership, env) : env;
  const found = loadConfig(hubEnv);
  const url = await findRunningRedis(found);
  if (!url) {
    io.err('No Redis to read: set REDIS_URL, or start the hub (`infoshare start`)');
    return EXIT_FAILURE;
  }
  const config = loadConfig({ ...hubEnv, INFOSHARE_KEY_PREFIX: runningKeyPrefix(found, hubEnv) });
  const redis = connectRedis(url);
  const log = createLogger('dead-relays', 'warn');
  const ctx = createAlertsContext(await buildServiceDeps(config, redis, log), loadAlertsConfig(hubEnv));
  const parts = { ...ctx, partnership: config.partnership };
  try {
    if (config.partnership.peerHubs.length === 0) {
      io.err(`This hub (${config.partnership.id}) has no peer hubs (INFOSHARE_PEER_HUBS): it relays no reports.`);
      return sub === 'list' ? EXIT_OK : EXIT_FAILURE;
    }
    const relays = await deadRelaysOf(parts);
    if (sub === 'list') {
      io.out(values.json ? JSON.stringify({ partnership: config.partnership.id, deadRelays: relays }, null, 2) : listing(config.partnership.id, relays));
      return EXIT_OK;
    }
    const ids = values.all ? relays.map((r) => r.reportId) : positionals;
    // One exchange for the command: each re-drive's change record, and the new deliveries' attempts, are under it.
    const cause = { requestId: `dead-relays-${randomUUID()}`, agent: {} };
    const results: ({ reportId: string } & Awaited<ReturnType<typeof redriveDeadRelay>>)[] = [];
    for (const reportId of ids) results.push({ reportId, ...(await redriveDeadRelay(parts, reportId, cause)) });
    if (values.json) io.out(JSON.stringify({ partnership: config.partnership.id, requestId: cause.requestId, results }, null, 2));
    else {
      for (const r of results) io.out(r.redriven ? `✔ ${r.reportId} pending again (a new job, a new retry window)` : `✘ ${r.reportId} not re-driven, nothing done: ${r.reason}`);
      if (results.length === 0) io.out('No dead relayed reports to re-drive.');
      else io.out(`Audited under ${cause.requestId}. The hub's delivery worker sends them (it must be running).`);
    }
    return results.every((r) => r.redriven) ? EXIT_OK : EXIT_FAILURE;
  } finally {
    await ctx.deliveries.close();
    await ctx.validation.close();
    await redis.quit().catch(() => redis.disconnect());
  }
}

function listing(partnership: string, relays: readonly DeadRelay[]): string {
  if (relays.length === 0) return `No dead relayed reports at the ${partnership} hub.`;
  return [
    `${relays.length} dead relayed report(s) at the ${partnership} hub — re-drive once that hub answers again: infoshare dead-relays redrive <id>… | --all`,
    ...relays.flatMap((r) => [
      `  ${r.reportId}`,
      `    to ${r.sender} through the ${r.partnership} hub; died ${r.deadAt} after ${r.attempts} attempt(s)${r.reason ? `: ${r.reason}` : ''}`,
      ...(r.about ? [`    about message ${r.about.message} to ${r.about.agency}`] : []),
    ]),
  ].join('\n');
}
