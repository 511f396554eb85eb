/**
 * Extra MPI replicas for `--mpi-processes N`: the service is stateless, so a
 * deployment scales it by running more processes on the same Redis behind a
 * load balancer (DESIGN.md §3). Each replica is `dist/services/mpi/main.js`
 * with the hub's Redis, key prefix and directory (for the JWKS), on a free port.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { PROJECT_ROOT, type HubConfig } from '../../shared/config.js';
import { reserveFreePorts } from '../../shared/runtime/listen.js';

export interface MpiReplica {
  readonly url: string;
  stop(): Promise<void>;
}

export async function startMpiReplica(config: HubConfig, redisUrl: string): Promise<MpiReplica> {
  const [port] = await reserveFreePorts(1);
  const child: ChildProcess = spawn(process.execPath, [path.join(PROJECT_ROOT, 'dist', 'services', 'mpi', 'main.js')], {
    env: {
      ...process.env,
      REDIS_URL: redisUrl,
      INFOSHARE_KEY_PREFIX: config.keyPrefix,
      INFOSHARE_HOST: config.host,
      INFOSHARE_MPI_PORT: String(port),
      INFOSHARE_DIRECTORY_PORT: String(config.ports.directory),
      INFOSHARE_BULK_BODY_LIMIT: config.bulkBodyLimit,
      INFOSHARE_MATCH_MODEL_FILE: config.matchModelFile,
      INFOSHARE_LOG_LEVEL: 'warn',
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const url = `http://${config.host}:${port}`;
  const deadline = Date.now() + 20_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`MPI replica exited with code ${child.exitCode}`);
    const ready = await fetch(`${url}/ready`).then((r) => r.ok, () => false);
    if (ready) break;
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`MPI replica at ${url} was not ready within 20 s`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    url,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}
