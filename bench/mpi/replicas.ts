/**
 * Extra MPI replicas for `--mpi-processes N`: the service is stateless, so a
 * deployment scales it by running more processes on the same Redis behind a
 * load balancer (DESIGN.md §3). Each replica is `dist/services/mpi/main.js`
 * with the hub's Redis, key prefix and directory (for the JWKS), on a free port.
 * The benchmark also runs the MPI under test this way (one process or more),
 * so that the load generator's CPU does not compete with the service's.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { PROJECT_ROOT, type HubConfig } from '../../shared/config.js';
import { processCpuSeconds } from '../common/process-cpu.js';
import { reserveFreePorts } from '../../shared/runtime/listen.js';
import type { MpiSettings } from '../../services/mpi/config.js';

export interface MpiReplica {
  readonly url: string;
  /** CPU seconds (user + system, every thread) the process has used so far; undefined where /proc is missing. */
  cpuSeconds(): number | undefined;
  stop(): Promise<void>;
}

export interface MpiReplicaOptions {
  /** Write a V8 CPU profile of the process to this directory when it stops. */
  readonly cpuProfileDir?: string;
}

/**
 * How long a replica may take to answer /ready: it loads the FHIR definitions first (~10 CPU-s), which took over
 * 20 s (the bound until session 25) on the shared 2-core machine at load 15-30 — three runs of eight failed there.
 */
const READY_WITHIN_MS = 120_000;

export async function startMpiReplica(config: HubConfig, mpi: MpiSettings, redisUrl: string, options: MpiReplicaOptions = {}): Promise<MpiReplica> {
  const [port] = await reserveFreePorts(1);
  const nodeArgs = options.cpuProfileDir ? ['--cpu-prof', `--cpu-prof-dir=${options.cpuProfileDir}`] : [];
  const child: ChildProcess = spawn(process.execPath, [...nodeArgs, path.join(PROJECT_ROOT, 'dist', 'services', 'mpi', 'main.js')], {
    env: {
      ...process.env,
      REDIS_URL: redisUrl,
      INFOSHARE_KEY_PREFIX: config.keyPrefix,
      INFOSHARE_HOST: config.host,
      INFOSHARE_MPI_PORT: String(port),
      INFOSHARE_DIRECTORY_PORT: String(config.ports.directory),
      INFOSHARE_BULK_BODY_LIMIT: mpi.bulkBodyLimit,
      INFOSHARE_MATCH_MODEL_FILE: mpi.matchModelFile,
      INFOSHARE_MPI_RECLUSTER_DELAY: String(mpi.reclusterDelaySeconds),
      INFOSHARE_MATCH_REESTIMATE_GROWTH: String(mpi.estimation.reestimateGrowth),
      INFOSHARE_LOG_LEVEL: 'warn',
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const url = `http://${config.host}:${port}`;
  const deadline = Date.now() + READY_WITHIN_MS;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`MPI replica exited with code ${child.exitCode}`);
    const ready = await fetch(`${url}/ready`).then((r) => r.ok, () => false);
    if (ready) break;
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`MPI replica at ${url} was not ready within ${READY_WITHIN_MS / 1000} s`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    url,
    cpuSeconds: () => processCpuSeconds(child.pid),
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}
