/**
 * `infoshare load <file>`: an agency's initial load into the MPI. The file's
 * Patients go in transaction Bundles of `--bundle-size`, one after another,
 * each registered in the background (`Prefer: respond-async`) and its status
 * URL polled, with progress on stderr and the summary on stdout.
 *
 * Each Bundle is all or nothing; the load as a whole is not: a refused Bundle
 * stops the load, and the Bundles before it stay registered. Running the same
 * command again is safe: a record sent again is a re-submission (a new version
 * of the same record), and an identical Bundle gets the MPI's earlier job back.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Bundle, OperationOutcome } from 'fhir/r4.js';
import { loadConfig } from '../../shared/config.js';
import { demoAgencyKey } from '../../shared/client/demo-keys.js';
import { refusalReason, type HttpResult } from '../../shared/client/http.js';
import { TokenRequestError } from '../../shared/client/token.js';
import { parseCommandArgs, urlOption } from '../args.js';
import { tokenUrlFor } from '../demo-token.js';
import { EXIT_FAILURE, EXIT_OK, isUnreachable, processIo, UsageError, type Io } from '../exit.js';
import { chunksOf, transactionOf, type Chunk } from '../load/chunks.js';
import { InputError, parseInput, type InputRecord } from '../load/input.js';
import { issueLines } from '../load/issues.js';
import { MpiLoadClient } from '../load/mpi-client.js';
import { bundleDoneLine, pollDelayMs, progressLine, progressOf, recordRange, type ProgressState } from '../load/progress.js';
import { addTallies, EMPTY_TALLY, formatSummary, loadSummary, tallyResponse, type LoadTally } from '../load/summary.js';

export const DEFAULT_BUNDLE_SIZE = 1000;

/** Output, plus a raw stderr writer when stderr is a terminal (for the line rewritten in place). */
export interface LoadIo extends Io {
  readonly terminal?: (text: string) => void;
}

const processLoadIo: LoadIo = {
  ...processIo,
  ...(process.stderr.isTTY ? { terminal: (text: string) => void process.stderr.write(text) } : {}),
};

export interface LoadCommandOptions {
  /** Stops waiting, as Ctrl-C does (tests); the command listens for SIGINT itself as well. */
  readonly signal?: AbortSignal;
}

export async function loadCommand(args: string[], io: LoadIo = processLoadIo, options: LoadCommandOptions = {}): Promise<number> {
  const { values, positionals } = parseCommandArgs(
    'load',
    args,
    {
      agency: { type: 'string' },
      key: { type: 'string' },
      mpi: { type: 'string' },
      directory: { type: 'string' },
      'bundle-size': { type: 'string' },
      json: { type: 'boolean' },
    },
    true,
  );
  if (positionals.length !== 1) throw new UsageError('give one file to load (a FHIR Bundle of Patients, or NDJSON)', 'load');
  const file = positionals[0]!;
  const agencyId = values.agency;
  if (!agencyId) throw new UsageError('--agency <id> is required: the agency whose records these are', 'load');
  const size = values['bundle-size'] === undefined ? DEFAULT_BUNDLE_SIZE : Number(values['bundle-size']);
  if (!Number.isInteger(size) || size < 1) throw new UsageError(`--bundle-size must be a positive whole number, got ${JSON.stringify(values['bundle-size'])}`, 'load');
  const config = loadConfig();
  const mpiUrl = urlOption('load', 'mpi', values.mpi) ?? config.urls.mpi;
  const directory = urlOption('load', 'directory', values.directory);

  // Everything about the file is checked before anything is sent.
  let records: InputRecord[];
  try {
    records = parseInput(await readFile(file, 'utf8'), path.basename(file));
  } catch (err) {
    if (err instanceof InputError) {
      io.err(err.message);
      return EXIT_FAILURE;
    }
    io.err(`Cannot read ${file}: ${(err as Error).message}`);
    return EXIT_FAILURE;
  }
  let privateKeyPem: string;
  try {
    privateKeyPem = values.key ? await readFile(values.key, 'utf8') : await demoAgencyKey(agencyId);
  } catch (err) {
    io.err(values.key ? `Cannot read the key ${values.key}: ${(err as Error).message}` : (err as Error).message);
    return EXIT_FAILURE;
  }

  const tokenUrl = await tokenUrlFor(config, directory);
  const client = new MpiLoadClient({ mpiUrl, tokenUrl, agencyId, privateKeyPem });
  const interrupt = new AbortController();
  const onSigint = () => interrupt.abort();
  process.once('SIGINT', onSigint);
  options.signal?.addEventListener('abort', onSigint, { once: true });
  const run = new LoadRun(io, client, records, chunksOf(records, size), interrupt.signal);
  try {
    const tally = await run.send();
    if (!tally) return EXIT_FAILURE;
    const summary = loadSummary(tally, { file, agency: agencyId, bundles: run.bundles, elapsedMs: run.elapsedMs() });
    io.out(values.json ? JSON.stringify(summary) : formatSummary(summary));
    return EXIT_OK;
  } catch (err) {
    run.clearTerminalLine();
    if (err instanceof TokenRequestError) {
      io.err(`${err.message}${run.registeredNote()}`);
      return EXIT_FAILURE;
    }
    if (isUnreachable(err)) {
      io.err(`The hub is not reachable (${mpiUrl}, ${tokenUrl}): start it with \`infoshare start\`${run.registeredNote()}`);
      return EXIT_FAILURE;
    }
    throw err;
  } finally {
    process.removeListener('SIGINT', onSigint);
    options.signal?.removeEventListener('abort', onSigint);
  }
}

/** One load in progress: which Bundle, how much is registered, what to say. */
class LoadRun {
  private readonly started = performance.now();
  private tally: LoadTally = EMPTY_TALLY;
  private terminalLineShown = false;

  constructor(
    private readonly io: LoadIo,
    private readonly client: MpiLoadClient,
    private readonly records: readonly InputRecord[],
    private readonly chunks: readonly Chunk[],
    private readonly interrupted: AbortSignal,
  ) {}

  get bundles(): number {
    return this.chunks.length;
  }

  elapsedMs(): number {
    return performance.now() - this.started;
  }

  /** Sends every Bundle in turn; the tally when all are registered, undefined when the load stopped (already said why). */
  async send(): Promise<LoadTally | undefined> {
    for (const chunk of this.chunks) {
      if (this.interrupted.aborted) {
        this.say(`Stopped (Ctrl-C) before sending Bundle ${chunk.index + 1} of ${this.bundles}.${this.registeredNote(true)}`);
        return undefined;
      }
      const accepted = await this.client.postAsync(transactionOf(chunk));
      const statusUrl = accepted.headers['content-location'];
      if (accepted.status !== 202 || !statusUrl) {
        this.refused(chunk, accepted);
        return undefined;
      }
      const repeat = (accepted.body as OperationOutcome | undefined)?.issue?.[0]?.code === 'duplicate';
      const done = await this.await(chunk, statusUrl);
      if (!done) return undefined;
      const counted = tallyResponse(done, repeat);
      this.tally = addTallies(this.tally, counted);
      this.say(bundleDoneLine(this.progress(chunk, this.tally.records), chunk.first, chunk.records.length, counted));
    }
    return this.tally;
  }

  /** Polls a Bundle's status URL until it is registered; undefined when it failed or the user stopped waiting. */
  private async await(chunk: Chunk, statusUrl: string): Promise<Bundle | undefined> {
    let retryAfter: string | undefined;
    this.showProgress(chunk, this.tally.records);
    for (let attempt = 0; ; attempt++) {
      if (!(await sleep(pollDelayMs(attempt, retryAfter), this.interrupted))) {
        this.say(
          `Stopped waiting (Ctrl-C). Bundle ${chunk.index + 1} of ${this.bundles} (${recordRange(chunk.first, chunk.records.length)}) ` +
            `continues registering in the background; its result will be at ${statusUrl}.${this.registeredNote(true)}`,
        );
        return undefined;
      }
      const res = await this.client.status(statusUrl);
      if (res.status === 200) return res.body as Bundle;
      if (res.status !== 202) {
        this.refused(chunk, res);
        return undefined;
      }
      retryAfter = res.headers['retry-after'];
      this.showProgress(chunk, this.tally.records + (progressOf(res.headers['x-progress']) ?? 0));
    }
  }

  /** On a terminal, the progress line rewritten in place; elsewhere a line per Bundle is enough. */
  private showProgress(chunk: Chunk, registered: number): void {
    if (!this.io.terminal) return;
    this.io.terminal(`\r\x1b[K${progressLine(this.progress(chunk, registered))}`);
    this.terminalLineShown = true;
  }

  /** A Bundle refused (at once, or when the background registration failed): its problems, located in the file. */
  private refused(chunk: Chunk, res: HttpResult): void {
    const outcome = (res.body as { resourceType?: string } | undefined)?.resourceType === 'OperationOutcome' ? (res.body as OperationOutcome) : undefined;
    const lines = outcome ? issueLines(outcome, chunk) : [refusalReason(res.text)];
    const hint =
      res.status === 413
        ? `\nThe Bundle is larger than the MPI accepts (INFOSHARE_BULK_BODY_LIMIT, 50mb by default): use a smaller --bundle-size.`
        : '';
    this.say(
      [
        `Bundle ${chunk.index + 1} of ${this.bundles} (${recordRange(chunk.first, chunk.records.length)}) was refused (${res.status}); nothing of it was registered:`,
        ...lines.map((l) => `  ${l}`),
      ].join('\n') + hint + this.registeredNote(),
    );
  }

  /**
   * What is registered already, and that running the command again is safe (said whenever the
   * load stopped part-way, or `always`: after Ctrl-C, running it again is also how to wait on).
   */
  registeredNote(always = false): string {
    const done = this.tally.records;
    if (done === 0 && !always) return '';
    const registered = done
      ? `\n${done} of ${this.records.length} records (the Bundles before this one) are registered and stay so: each Bundle is all or nothing, the load as a whole is not.`
      : '';
    return (
      registered +
      `\nRunning the same command again is safe: a record sent again is a re-submission (a new version of the same record, never a second one), and a Bundle identical to one already loaded gets the MPI's earlier result (or, still registering, its job to wait on).`
    );
  }

  clearTerminalLine(): void {
    if (this.terminalLineShown) this.io.terminal?.('\r\x1b[K');
    this.terminalLineShown = false;
  }

  private say(line: string): void {
    this.clearTerminalLine();
    this.io.err(line);
  }

  private progress(chunk: Chunk, registered: number): ProgressState {
    return { registered, total: this.records.length, bundle: chunk.index, bundles: this.bundles, elapsedMs: this.elapsedMs() };
  }
}

/** Waits `ms`; false when interrupted first. */
function sleep(ms: number, signal: AbortSignal): Promise<boolean> {
  if (signal.aborted) return Promise.resolve(false);
  return new Promise((resolve) => {
    const onAbort = () => {
      clearTimeout(timer);
      resolve(false);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve(true);
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
