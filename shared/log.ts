/** JSON logs (pino). Services log through this, never `console.log`. */
import { pino, type DestinationStream, type Logger } from 'pino';

export type { Logger };

/**
 * Where every logger of this process writes: standard output, or the file `INFOSHARE_LOG_FILE` names (appended to,
 * its directory made; `-` is standard output). `infoshare start` sets it so the demo's terminal keeps its banner;
 * processes a service forks inherit it, so one file holds the hub's log. One stream per file per process.
 */
const files = new Map<string, DestinationStream>();

/** The file `INFOSHARE_LOG_FILE` names, or undefined when logs go to standard output (unset, empty or `-`). */
export function logFileOf(setting: string | undefined): string | undefined {
  return setting === undefined || setting === '' || setting === '-' ? undefined : setting;
}

function destinationOf(setting: string | undefined): DestinationStream | undefined {
  const file = logFileOf(setting);
  if (file === undefined) return undefined;
  let stream = files.get(file);
  if (!stream) {
    stream = pino.destination({ dest: file, append: true, mkdir: true, sync: true });
    files.set(file, stream);
  }
  return stream;
}

export function createLogger(service: string, level: string = process.env.INFOSHARE_LOG_LEVEL ?? 'info'): Logger {
  const options = {
    name: service,
    level,
    base: { service },
    redact: { paths: ['req.headers.authorization', 'client_assertion', 'access_token'], censor: '[redacted]' },
  };
  const file = destinationOf(process.env.INFOSHARE_LOG_FILE);
  return file ? pino(options, file) : pino(options);
}
