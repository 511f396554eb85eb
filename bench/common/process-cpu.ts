import fs from 'node:fs';
import type { Redis } from 'ioredis';

/** utime + stime of a process from /proc/<pid>/stat (Linux; clock ticks of 1/100 s). */
export function processCpuSeconds(pid: number | undefined): number | undefined {
  return pid === undefined ? undefined : cpuSecondsOf(`/proc/${pid}/stat`);
}

/**
 * utime + stime of a process's main thread alone (`/proc/<pid>/task/<pid>/stat`): in Node, its event loop —
 * without worker threads (validation, …) and libuv's pool.
 */
export function mainThreadCpuSeconds(pid: number | undefined): number | undefined {
  return pid === undefined ? undefined : cpuSecondsOf(`/proc/${pid}/task/${pid}/stat`);
}

/**
 * How long a process's main thread has waited, runnable, for a CPU (`/proc/<pid>/task/<pid>/schedstat`, second
 * field, ns): the scheduling delay other processes' work put on its event loop. Undefined without schedstats.
 */
export function mainThreadRunQueueWaitSeconds(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const [, waitNs] = fs.readFileSync(`/proc/${pid}/task/${pid}/schedstat`, 'utf8').trim().split(' ');
    const seconds = Number(waitNs) / 1e9;
    return Number.isFinite(seconds) ? seconds : undefined;
  } catch {
    return undefined;
  }
}

function cpuSecondsOf(statFile: string): number | undefined {
  try {
    const stat = fs.readFileSync(statFile, 'utf8');
    // Fields after the command name (which may hold spaces) in parentheses: state is field 3, utime 14, stime 15.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_SECOND;
  } catch {
    return undefined;
  }
}

const CLOCK_TICKS_PER_SECOND = 100;

/** redis-server's CPU time so far (its main process, user + system: `INFO cpu`). */
export async function redisCpuSeconds(redis: Redis): Promise<number> {
  const info = await redis.info('cpu');
  const field = (name: string) => Number(new RegExp(`^${name}:([\\d.]+)`, 'm').exec(info)?.[1] ?? 0);
  return field('used_cpu_user') + field('used_cpu_sys');
}
