/**
 * `infoshare <command>`: the hub's command line. One file per command in
 * `commands/`; this file only dispatches and turns errors into exit codes
 * (0 ok, 1 failure, 2 usage error) with a message instead of a stack trace.
 */
import { agenciesCommand } from './commands/agencies.js';
import { auditCommand } from './commands/audit.js';
import { evidenceCommand } from './commands/evidence.js';
import { fixturesCommand } from './commands/fixtures.js';
import { helpCommand, usageText } from './commands/help.js';
import { loadCommand } from './commands/load.js';
import { matchingCommand } from './commands/matching.js';
import { replayCommand } from './commands/replay.js';
import { startCommand } from './commands/start.js';
import { tokenCommand } from './commands/token.js';
import { EXIT_FAILURE, EXIT_USAGE, UsageError } from './exit.js';

const COMMANDS: Readonly<Record<string, (args: string[]) => Promise<number>>> = {
  start: startCommand,
  token: tokenCommand,
  agencies: agenciesCommand,
  replay: replayCommand,
  matching: matchingCommand,
  audit: auditCommand,
  evidence: evidenceCommand,
  load: (args) => loadCommand(args),
  fixtures: fixturesCommand,
  help: helpCommand,
};

export async function main(argv: string[]): Promise<number> {
  const [name, ...args] = argv;
  if (name === undefined || name === '--help' || name === '-h') return helpCommand([]);
  const command = COMMANDS[name];
  if (!command) {
    process.stderr.write(`Unknown command "${name}".\n\n${usageText()}\n`);
    return EXIT_USAGE;
  }
  if (args.includes('--help') || args.includes('-h')) return helpCommand([name]);
  try {
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
