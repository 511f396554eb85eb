/**
 * `infoshare <command>`: the hub's command line. One file per command in
 * `commands/`; this file only dispatches and turns errors into exit codes
 * (0 ok, 1 failure, 2 usage error) with a message instead of a stack trace.
 */
import { helpCommand, usageText } from './commands/help.js';
import { EXIT_FAILURE, EXIT_USAGE, UsageError } from './exit.js';

type Command = (args: string[]) => Promise<number>;

/**
 * Each command's module is loaded only when that command runs: `start` and `fixtures` pull in
 * every service (about a second of CPU to load), which `infoshare token` — run once per curl
 * in the README's examples — has no use for.
 */
const COMMANDS: Readonly<Record<string, () => Promise<Command>>> = {
  start: async () => (await import('./commands/start.js')).startCommand,
  token: async () => (await import('./commands/token.js')).tokenCommand,
  agencies: async () => (await import('./commands/agencies.js')).agenciesCommand,
  replay: async () => (await import('./commands/replay.js')).replayCommand,
  matching: async () => (await import('./commands/matching.js')).matchingCommand,
  audit: async () => (await import('./commands/audit.js')).auditCommand,
  evidence: async () => (await import('./commands/evidence.js')).evidenceCommand,
  'dead-relays': async () => {
    const { deadRelaysCommand } = await import('./commands/dead-relays.js');
    return (args) => deadRelaysCommand(args);
  },
  load: async () => {
    const { loadCommand } = await import('./commands/load.js');
    return (args) => loadCommand(args);
  },
  fixtures: async () => (await import('./commands/fixtures.js')).fixturesCommand,
  help: () => Promise.resolve(helpCommand),
};

export async function main(argv: string[]): Promise<number> {
  const [name, ...args] = argv;
  if (name === undefined || name === '--help' || name === '-h') return helpCommand([]);
  const commandLoader = COMMANDS[name];
  if (!commandLoader) {
    process.stderr.write(`Unknown command "${name}".\n\n${usageText()}\n`);
    return EXIT_USAGE;
  }
  if (args.includes('--help') || args.includes('-h')) return helpCommand([name]);
  try {
    const command = await commandLoader();
    return await command(args);
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`infoshare ${err.command ?? name}: ${err.message}\nRun \`infoshare help ${err.command ?? name}\` for usage.\n`);
      return EXIT_USAGE;
    }
    process.stderr.write(`infoshare ${name}: ${(err as Error).message ?? String(err)}\n`);
    if (process.env.INFOSHARE_DEBUG) process.stderr.write(`${(err as Error).stack ?? ''}\n`);
    return EXIT_FAILURE;
  }
}

// Set the exit code rather than calling process.exit, so output is flushed;
// commands close what they open, so the process then ends by itself.
process.exitCode = await main(process.argv.slice(2));
