/** Exit codes every `infoshare` command uses, and the error for a wrong command line. */

export const EXIT_OK = 0;
/** Something the command set out to do failed (a refused token, a failed scenario). */
export const EXIT_FAILURE = 1;
/** The command line is wrong (unknown option, missing value): nothing was attempted. */
export const EXIT_USAGE = 2;

/** Thrown for a wrong command line; `main` prints it with a hint and exits 2. */
export class UsageError extends Error {
  constructor(
    message: string,
    /** The command whose help to point at. */
    readonly command?: string,
  ) {
    super(message);
    this.name = 'UsageError';
  }
}

/** Output streams, injectable so commands can be driven from tests. */
export interface Io {
  readonly out: (text: string) => void;
  readonly err: (text: string) => void;
}

export const processIo: Io = {
  out: (text) => process.stdout.write(`${text}\n`),
  err: (text) => process.stderr.write(`${text}\n`),
};

/** A fetch that failed because nothing answered (hub not started, wrong URL, timed out), not because of an answer. */
export function isUnreachable(err: unknown): boolean {
  const code = (err as { cause?: { code?: string } }).cause?.code;
  return code === 'ECONNREFUSED' || code === 'ENOTFOUND' || (err as Error).name === 'TimeoutError';
}
