import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { hubNoteFile, readHubNote, runningKeyPrefix, writeHubNote } from './hub-note.js';

let dataDir: string;

beforeEach(() => {
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'hub-note-'));
});

afterEach(() => {
  fs.rmSync(dataDir, { recursive: true, force: true });
});

/** The pid of a process that has exited. */
function deadPid(): number {
  return spawnSync(process.execPath, ['-e', '']).pid;
}

describe('the running hub note', () => {
  it('names the running hub’s Redis and key prefix until the hub removes it', () => {
    const remove = writeHubNote({ dataDir }, { redisUrl: 'redis://127.0.0.1:6390', keyPrefix: 'pilot' });
    expect(readHubNote({ dataDir })).toMatchObject({ pid: process.pid, redisUrl: 'redis://127.0.0.1:6390', keyPrefix: 'pilot' });
    expect(runningKeyPrefix({ dataDir, keyPrefix: 'is' }, {})).toBe('pilot');
    // A prefix named in this terminal wins over the note.
    expect(runningKeyPrefix({ dataDir, keyPrefix: 'mine' }, { INFOSHARE_KEY_PREFIX: 'mine' })).toBe('mine');
    remove();
    expect(fs.existsSync(hubNoteFile({ dataDir }))).toBe(false);
    expect(runningKeyPrefix({ dataDir, keyPrefix: 'is' }, {})).toBe('is');
  });

  it('ignores a note left by a hub that died without removing it', () => {
    fs.writeFileSync(hubNoteFile({ dataDir }), JSON.stringify({ pid: deadPid(), redisUrl: 'redis://127.0.0.1:6390', keyPrefix: 'pilot' }));
    expect(readHubNote({ dataDir })).toBeUndefined();
  });

  it('ignores a note that is not one (half-written or edited by hand)', () => {
    fs.writeFileSync(hubNoteFile({ dataDir }), '{"pid": ');
    expect(readHubNote({ dataDir })).toBeUndefined();
    fs.writeFileSync(hubNoteFile({ dataDir }), JSON.stringify({ pid: process.pid }));
    expect(readHubNote({ dataDir })).toBeUndefined();
  });

  it('is removed only by the hub that wrote it, not by an older one stopping after a newer one started', () => {
    const removeOlder = writeHubNote({ dataDir }, { redisUrl: 'redis://127.0.0.1:6390', keyPrefix: 'old' });
    const newer = { pid: process.ppid, redisUrl: 'redis://127.0.0.1:6391', keyPrefix: 'new', startedAt: '' };
    fs.writeFileSync(hubNoteFile({ dataDir }), JSON.stringify(newer));
    removeOlder();
    expect(readHubNote({ dataDir })).toMatchObject({ keyPrefix: 'new' });
  });
});
