/**
 * Tamper drills on a real Redis: a log of 520 entries with a signed checkpoint
 * every 100 is copied, and each copy is damaged the way someone with write
 * access to Redis could: an entry altered, one deleted in the middle, the tail
 * deleted (state and hash tiles cut to match), two entries swapped, the log
 * forked (a second signed checkpoint of the same size), an entry altered with
 * its stored hash rewritten to match. Full verification must detect each and
 * name the first bad position; the untouched log verifies. Every drill runs
 * both ways — hashed on this thread, and on two worker threads each summing
 * up runs of one tile — and the two reports must be the same.
 */
import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import { KeySpace } from '../../shared/redis/connection.js';
import { startTestAudit, type TestAudit } from '../../test/audit.js';
import { deletePrefix, uniquePrefix } from '../../test/redis.js';
import { leafHash } from './domain/merkle.js';
import { bundleRecord, readBundle, TILE_WIDTH } from './domain/tiles.js';
import type { VerificationReport } from './domain/verification.js';
import { AuditKeys } from './keys.js';
import { verifyStoredLog } from './log-verify.js';
import { createLogAppender } from './module.js';
import { LogStore } from './store.js';

const ENTRIES = 520;
let audit: TestAudit;
let redis: Redis;
const copies: string[] = [];

beforeAll(async () => {
  audit = await startTestAudit({ INFOSHARE_AUDIT_CHECKPOINT_EVERY: '100', INFOSHARE_AUDIT_BATCH_SIZE: '100', INFOSHARE_AUDIT_CHECKPOINT_SECONDS: '3600' }, { startService: false });
  redis = audit.dir.redis;
  // Only the drill's own entries: a log that starts empty, so positions are the drill's.
  await redis.del(audit.ctx.keys.stream);
  await audit.record(ENTRIES, 'drill');
  const log = createLogAppender(audit.ctx, audit.dir.deps);
  await log.appender.catchUp();
  await log.checkpointer.signNow((await audit.ctx.store.frontier()).frontier);
  await log.close();
});

afterAll(async () => {
  for (const prefix of copies) await deletePrefix(redis, prefix);
  await audit.close();
});

/** A copy of the log under a fresh prefix, with its store. */
async function copyOfLog(): Promise<{ keys: AuditKeys; store: LogStore }> {
  const prefix = uniquePrefix('tamper');
  copies.push(prefix);
  const from = audit.dir.keys.prefix;
  let cursor = '0';
  do {
    const [next, found] = await redis.scan(cursor, 'MATCH', `${from}:{audit}:log:*`, 'COUNT', 1000);
    cursor = next;
    for (const key of found) await redis.copy(key, `${prefix}${key.slice(from.length)}`);
  } while (cursor !== '0');
  const keys = new AuditKeys(new KeySpace(prefix));
  return { keys, store: new LogStore(redis, keys) };
}

/** Verifies on this thread and on two worker threads: the same report, whatever the damage. */
async function verify(log: { keys: AuditKeys; store: LogStore }): Promise<VerificationReport> {
  const { verifier, origin } = audit.ctx.signer;
  const single = await verifyStoredLog(redis, log.keys, log.store, verifier, origin, { threads: 1 });
  const parallel = await verifyStoredLog(redis, log.keys, log.store, verifier, origin, { threads: 2, tilesPerJob: 1 });
  expect(parallel).toEqual(single);
  return single;
}

/** Rewrites one tile's entry bundle through a function of its entries. */
async function rewriteEntries(log: { keys: AuditKeys }, tile: number, change: (entries: Buffer[]) => Buffer[]): Promise<void> {
  const bundle = (await redis.getBuffer(log.keys.entryTile(tile)))!;
  const entries = readBundle(bundle).entries.map((e) => Buffer.from(e));
  await redis.set(log.keys.entryTile(tile), Buffer.concat(change(entries).map(bundleRecord)));
}

const altered = (entry: Buffer) => Buffer.from(entry.toString('utf8').replace('"outcome","0"', '"outcome","4"'));

describe('full verification', () => {
  it('passes the untouched log, with its size and root', async () => {
    const log = await copyOfLog();
    const report = await verify(log);
    expect(report).toMatchObject({ ok: true, size: ENTRIES, claimedSize: ENTRIES, problems: [] });
    expect(report.checkpointsChecked).toBeGreaterThanOrEqual(5);
    expect(report.root).toBe((await log.store.rootAt(ENTRIES)).toString('base64'));
  });

  it('finds an altered entry at its position', async () => {
    const log = await copyOfLog();
    await rewriteEntries(log, 1, (entries) => entries.map((e, i) => (i === 333 - TILE_WIDTH ? altered(e) : e)));
    const report = await verify(log);
    expect(report.ok).toBe(false);
    expect(report.firstBadPosition).toBe(333);
  });

  it('finds an entry deleted in the middle at its position', async () => {
    const log = await copyOfLog();
    await rewriteEntries(log, 0, (entries) => entries.filter((_, i) => i !== 150));
    const report = await verify(log);
    expect(report.ok).toBe(false);
    expect(report.firstBadPosition).toBe(150);
  });

  it('finds the tail deleted, even with the state and hash tiles cut to match, where it was cut', async () => {
    const log = await copyOfLog();
    await rewriteEntries(log, 1, (entries) => entries.slice(0, 420 - TILE_WIDTH));
    await redis.del(log.keys.entryTile(2), log.keys.idTile(2), log.keys.hashTile(0, 2));
    const hashes = (await redis.getBuffer(log.keys.hashTile(0, 1)))!;
    await redis.set(log.keys.hashTile(0, 1), hashes.subarray(0, (420 - TILE_WIDTH) * 32));
    await redis.hset(log.keys.state, 'size', 420);
    const report = await verify(log);
    expect(report.ok).toBe(false);
    expect(report.size).toBe(420);
    expect(report.firstBadPosition).toBe(420);
    expect(report.problems.join('\n')).toContain('removed');
  });

  it('finds two swapped entries at the first of them', async () => {
    const log = await copyOfLog();
    await rewriteEntries(log, 0, (entries) => entries.map((e, i) => (i === 10 ? entries[20]! : i === 20 ? entries[10]! : e)));
    const report = await verify(log);
    expect(report.ok).toBe(false);
    expect(report.firstBadPosition).toBe(10);
  });

  it('finds a fork: a second signed checkpoint of the same size with another root', async () => {
    const log = await copyOfLog();
    const other = createHash('sha256').update('another history').digest();
    await log.store.addCheckpoint(audit.ctx.signer.sign(300, other), new Date());
    const report = await verify(log);
    expect(report.ok).toBe(false);
    expect(report.problems.join('\n')).toContain('fork');
    // The entries match the checkpoint of 200 and one of the two of 300: the other history parts after 200.
    expect(report.firstBadPosition).toBe(200);
  });

  it('finds an altered entry whose stored hash was rewritten to match, after the last checkpoint that still holds', async () => {
    const log = await copyOfLog();
    let forged: Buffer | undefined;
    await rewriteEntries(log, 1, (entries) => entries.map((e, i) => (i === 333 - TILE_WIDTH ? (forged = altered(e)) : e)));
    await redis.setrange(log.keys.hashTile(0, 1), (333 - TILE_WIDTH) * 32, leafHash(forged!));
    const report = await verify(log);
    expect(report.ok).toBe(false);
    expect(report.problems.join('\n')).toContain('checkpoint of size 400');
    expect(report.firstBadPosition).toBe(300);
  });

  it('refuses a stored checkpoint whose signature does not verify', async () => {
    const log = await copyOfLog();
    const latest = (await log.store.latestCheckpoint())!;
    const note = latest.note.replace(latest.rootHash, createHash('sha256').update('x').digest('base64'));
    await redis.zadd(log.keys.checkpoints, latest.size, JSON.stringify({ note, issued: latest.issued }));
    const report = await verify(log);
    expect(report.ok).toBe(false);
    expect(report.problems.join('\n')).toContain('does not verify');
  });
});
