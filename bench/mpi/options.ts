/** Command-line options of `npm run bench:mpi` (`-- --records 20000 --fsync always`). */
import { choiceFlag, positiveFlag, readFlags, UsageError } from '../common/cli.js';

export interface MpiBenchOptions {
  /** Agency records to bulk-load (default 100,000). */
  readonly records: number;
  /** Records per transaction Bundle (default 1,000). */
  readonly bundleSize: number;
  /** Transaction Bundles in flight at once (default 4). */
  readonly concurrency: number;
  /** $match queries, sent one at a time (default 1,000). */
  readonly queries: number;
  /** Seed of the synthetic population (default 20250630). */
  readonly seed: number;
  /** Redis appendfsync of the private server: everysec for load tests (default), always = the hub's durable default. */
  readonly fsync: 'everysec' | 'always';
  /** Where the JSON line is also written (default bench/results/mpi.json; `-` for nowhere). */
  readonly out: string;
  /** MPI processes sharing the bulk load (default 1). */
  readonly mpiProcesses: number;
  /**
   * Where the MPI under test runs. `separate` (default): its own process(es), as
   * deployed — the load generator's CPU does not compete with its event loop.
   * `in-process`: the first one is the hub's MPI inside this (client) process,
   * as runs before 2026-11-25 measured.
   */
  readonly mpiLayout: 'separate' | 'in-process';
  /** Directory for `--cpu-prof` profiles of the separate MPI processes (none by default). */
  readonly mpiCpuProf?: string;
}

export const USAGE = `Usage: npm run bench:mpi -- [--records N] [--bundle-size N] [--concurrency N] [--queries N] [--seed N] [--fsync everysec|always] [--mpi-processes N] [--mpi-layout separate|in-process] [--mpi-cpu-prof DIR] [--out FILE|-]
Bulk-loads synthetic agency records into the MPI over HTTP, then times $match and measures Redis memory per record.
Starts a private redis-server in a temp directory unless REDIS_URL is set. The MPI under test runs
in its own process(es) (--mpi-layout in-process: inside the client's process, as earlier runs did).`;

export function parseOptions(argv: readonly string[]): MpiBenchOptions {
  const values = readFlags(argv, ['records', 'bundle-size', 'concurrency', 'queries', 'seed', 'fsync', 'out', 'mpi-processes', 'mpi-layout', 'mpi-cpu-prof']);
  const mpiLayout = choiceFlag(values, 'mpi-layout', ['separate', 'in-process'], 'separate');
  const mpiCpuProf = values.get('mpi-cpu-prof');
  if (mpiCpuProf !== undefined && mpiLayout !== 'separate') throw new UsageError('--mpi-cpu-prof profiles separate MPI processes only');
  return {
    records: positiveFlag(values, 'records', 100_000),
    bundleSize: positiveFlag(values, 'bundle-size', 1_000),
    concurrency: positiveFlag(values, 'concurrency', 4),
    queries: positiveFlag(values, 'queries', 1_000),
    seed: positiveFlag(values, 'seed', 20250630),
    fsync: choiceFlag(values, 'fsync', ['everysec', 'always'], 'everysec'),
    out: values.get('out') ?? 'bench/results/mpi.json',
    mpiProcesses: positiveFlag(values, 'mpi-processes', 1),
    mpiLayout,
    ...(mpiCpuProf !== undefined ? { mpiCpuProf } : {}),
  };
}
