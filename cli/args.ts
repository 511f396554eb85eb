/** `util.parseArgs` with errors turned into usage errors that name the command. */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { UsageError } from './exit.js';

type Options = NonNullable<ParseArgsConfig['options']>;

export function parseCommandArgs<O extends Options>(command: string, args: string[], options: O, allowPositionals = false) {
  try {
    return parseArgs({ args, options, allowPositionals, strict: true });
  } catch (err) {
    // Node's messages are clear ("Unknown option '--agnecy'"); drop its error-code prefix only.
    throw new UsageError((err as Error).message.replace(/^TypeError \[[A-Z_]+\]: /, ''), command);
  }
}

/** A URL option, checked so a typo fails here rather than as a connection error later. */
export function urlOption(command: string, name: string, value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  try {
    const url = new URL(value);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error('not http');
    return value.replace(/\/$/, '');
  } catch {
    throw new UsageError(`--${name} must be an http(s) URL, got ${JSON.stringify(value)}`, command);
  }
}
