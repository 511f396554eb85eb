/**
 * The note a running hub (`infoshare start`) leaves in its data directory,
 * `<dataDir>/hub.json`: which Redis it uses and under which key prefix, so a
 * command in another terminal (`infoshare replay` reading the audit trail,
 * `infoshare fixtures load`) finds them without being told — whether the hub
 * started its private Redis or was given one with `REDIS_URL`. (The private
 * server also has its `<dataDir>/redis/url` file, see `server.ts`; that one
 * exists so a second hub reuses the server, this one so clients find the hub.)
 *
 * The note is removed when the hub stops; a note left by a hub that died is
 * ignored because its process is gone. A `REDIS_URL` may carry a password, so
 * the file is readable by its owner only, like the data directory's contents.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { HubConfig } from '../config.js';

export interface HubNote {
  /** The hub process; the note counts only while it runs. */
  readonly pid: number;
  readonly redisUrl: string;
  readonly keyPrefix: string;
  readonly startedAt: string;
}

export function hubNoteFile(config: Pick<HubConfig, 'dataDir'>): string {
  return path.join(config.dataDir, 'hub.json');
}

/** Writes the note for this process; returns the function that removes it (only if it is still this process's note). */
export function writeHubNote(config: Pick<HubConfig, 'dataDir'>, note: Omit<HubNote, 'pid' | 'startedAt'>): () => void {
  const file = hubNoteFile(config);
  const mine: HubNote = { pid: process.pid, redisUrl: note.redisUrl, keyPrefix: note.keyPrefix, startedAt: new Date().toISOString() };
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, `${JSON.stringify(mine, null, 2)}\n`, { mode: 0o600 });
  fs.renameSync(tmp, file);
  return () => {
    if (readNote(file)?.pid === process.pid) fs.rmSync(file, { force: true });
  };
}

/** The note of a hub running on this data directory, if there is one and its process is alive. */
export function readHubNote(config: Pick<HubConfig, 'dataDir'>): HubNote | undefined {
  const note = readNote(hubNoteFile(config));
  return note && isRunning(note.pid) ? note : undefined;
}

function readNote(file: string): HubNote | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch {
    return undefined; // no note, or one half-written by hand: as good as none
  }
  const n = parsed as Partial<HubNote> | null;
  if (typeof n?.pid !== 'number' || typeof n.redisUrl !== 'string' || typeof n.keyPrefix !== 'string') return undefined;
  return { pid: n.pid, redisUrl: n.redisUrl, keyPrefix: n.keyPrefix, startedAt: typeof n.startedAt === 'string' ? n.startedAt : '' };
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: the process exists but belongs to someone else (still running).
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * The key prefix a command should read a running hub's data under: the one
 * this environment names (`INFOSHARE_KEY_PREFIX`), else the running hub's,
 * else the default.
 */
export function runningKeyPrefix(config: Pick<HubConfig, 'dataDir' | 'keyPrefix'>, env: NodeJS.ProcessEnv): string {
  if (env.INFOSHARE_KEY_PREFIX) return config.keyPrefix;
  return readHubNote(config)?.keyPrefix ?? config.keyPrefix;
}
