import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createLogger } from './log.js';

describe('where the logs go', () => {
  const saved = process.env.INFOSHARE_LOG_FILE;
  afterEach(() => {
    if (saved === undefined) delete process.env.INFOSHARE_LOG_FILE;
    else process.env.INFOSHARE_LOG_FILE = saved;
  });

  it('appends every logger’s JSON lines to INFOSHARE_LOG_FILE (its directory made), as `infoshare start` sets it', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'infoshare-log-'));
    const file = path.join(dir, 'logs', 'hub.log');
    process.env.INFOSHARE_LOG_FILE = file;
    createLogger('mpi', 'info').info({ requestId: 'r-1' }, 'first');
    createLogger('alerts', 'info').warn('second');
    const lines = fs.readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines).toMatchObject([
      { service: 'mpi', requestId: 'r-1', msg: 'first' },
      { service: 'alerts', level: 40, msg: 'second' },
    ]);
    fs.rmSync(dir, { recursive: true, force: true });
  });
});
