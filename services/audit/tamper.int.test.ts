/**
 * Tamper drills on a real Redis: a log of 520 entries with a signed checkpoint
 * every 100 — a log begun before layout 2 (its first 200 leaves hashed in
 * layout 1 by an appender that knew no other, some of those entries saying v 2
 * as a rolling upgrade's would), then grown in layout 2 (60 entries, nine fields each), layout 3
 * (130 entries, one field each, as the hub wrote in session 17) and layout 4 (130 entries, one field,
 * the event's fixed parts by reference to the audit vocabulary, as the hub writes since session 18) — is copied — the audit stream with it — and each copy is damaged
 * the way someone with write access to Redis could. In the audit stream (the
 * only copy of the entries, what search and the evidence report read): an
 * entry altered, one deleted in the middle, the tail deleted (with and without
 * the log's state, id and hash tiles cut to match), two entries swapped, one
 * inserted; in the log: a fork (a second signed checkpoint of the same size),
 * an altered entry with its stored hash rewritten to match, a checkpoint whose
 * signature does not verify. Full verification must detect each and name the
 * first bad position; the untouched log verifies. Every drill runs both ways —
 * hashed on this thread, and on two worker threads each summing up runs of
 * one tile — and the two reports must be the same.
 */
import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import { canonicalEntry, entryArgs, fullEventText, parseAuditEntry } from '../../shared/audit/audit-entry.js';
import { KeySpace } from '../../shared/redis/connection.js';
import { startTestAudit, type TestAudit } from '../../test/audit.js';
import { deletePrefix, uniquePrefix } from '../../test/redis.js';
import { leafHashOfText } from './domain/merkle.js';
import { streamIdAfter, TILE_WIDTH } from './domain/tiles.js';
import type { VerificationReport } from './domain/verification.js';
import { AuditKeys } from './keys.js';
import { verifyStoredLog } from './log-verify.js';
import { createLogAppender } from './module.js';
import { LogStore } from './store.js';

const ENTRIES = 520;
const GAP_AT = 260;
/** Positions [GAP_AT, LAYOUT_4_AT) are layout 3 entries, [LAYOUT_4_AT, ENTRIES) layout 4 (the hub's own). */
const LAYOUT_4_AT = 390;
/** Positions [0, OLD_LEAVES) were appended before the log knew layout 2. */
const OLD_LEAVES = 200;
let audit: TestAudit;
let redis: Redis;
const copies: string[] = [];

beforeAll(async () => {
  audit = await startTestAudit({ INFOSHARE_AUDIT_CHECKPOINT_EVERY: '100', INFOSHARE_AUDIT_BATCH_SIZE: '100', INFOSHARE_AUDIT_CHECKPOINT_SECONDS: '3600' }, { startService: false });
  redis = audit.dir.redis;
  // Only the drill's own entries: a log that starts empty, so positions are the drill's.
  await redis.del(audit.ctx.keys.stream);
  await appendAsBeforeLayout2(await audit.record(OLD_LEAVES, 'old'));
  // Two halves a few milliseconds apart: the stream ids then leave room for an entry inserted between them.
  await writtenAsLayout2(await audit.record(GAP_AT - OLD_LEAVES, 'drill'));
  await new Promise((r) => setTimeout(r, 5));
  await writtenAsLayout3(await audit.record(LAYOUT_4_AT - GAP_AT, 'drill'));
  await audit.record(ENTRIES - LAYOUT_4_AT, 'drill');
  const log = createLogAppender(audit.ctx, audit.dir.deps);
  await log.appender.catchUp();
  await log.checkpointer.signNow((await audit.ctx.store.frontier()).frontier);
  await log.close();
});

/**
 * What a log written before layout 2 holds: the hub's writers wrote `v` 1 (here every other entry; the
 * rest say 2, as entries written during an upgrade by writers newer than the appender would), and the
 * appender hashed every entry in layout 1 and kept no `layout2From`.
 */
async function appendAsBeforeLayout2(ids: readonly string[]): Promise<void> {
  const { store, keys } = audit.ctx;
  const rows = (await redis.xrange(keys.stream, '-', '+')) as Row[];
  await redis.del(keys.stream);
  // Nine fields an entry, as writers before layout 3 wrote them.
  for (const [id, fields] of rows) await redis.xadd(keys.stream, id, ...entryArgs({ ...parseAuditEntry(fields), v: ids.indexOf(id) % 2 === 0 ? '1' : '2' }));
  const old = (await redis.xrange(keys.stream, '-', '+')) as Row[];
  const leaves = old.map(([id, fields]) => ({ id, leafHash: leafHashOfText(canonicalEntry(parseAuditEntry(fields), id, 1)) }));
  // In batches of 100, each signed, as the appender signs a checkpoint every 100 here.
  for (let at = 0; at < leaves.length; at += 100) {
    expect((await store.append(leaves.slice(at, at + 100), (await store.frontier()).frontier)).kind).toBe('appended');
    const size = Math.min(at + 100, leaves.length);
    await store.addCheckpoint(audit.ctx.signer.sign(size, await store.rootAt(size)), new Date());
  }
  await redis.hdel(keys.state, 'layout2From');
}

/** Entries as writers of sessions 15-16 wrote them (layout 2: nine fields, `v` 2), not yet appended. */
async function writtenAsLayout2(ids: readonly string[]): Promise<void> {
  const { keys } = audit.ctx;
  const rows = (await redis.xrange(keys.stream, '-', '+')) as Row[];
  await redis.del(keys.stream);
  for (const [id, fields] of rows) await redis.xadd(keys.stream, id, ...(ids.includes(id) ? entryArgs({ ...parseAuditEntry(fields), v: '2' }) : fields));
}

/** Entries as writers of session 17 wrote them (layout 3: one field, `v` 3, the event in full), not yet appended. */
async function writtenAsLayout3(ids: readonly string[]): Promise<void> {
  const { keys } = audit.ctx;
  const rows = (await redis.xrange(keys.stream, '-', '+')) as Row[];
  await redis.del(keys.stream);
  for (const [id, fields] of rows) {
    const entry = parseAuditEntry(fields);
    await redis.xadd(keys.stream, id, ...(ids.includes(id) ? entryArgs({ ...entry, v: '3', event: fullEventText(entry) }) : fields));
  }
}

afterAll(async () => {
  for (const prefix of copies) await deletePrefix(redis, prefix);
  await audit.close();
});

type Row = [id: string, fields: string[]];
interface LogCopy {
  readonly keys: AuditKeys;
  readonly store: LogStore;
}

/** A copy of the log and of the audit stream under a fresh prefix, with its store. */
async function copyOfLog(): Promise<LogCopy> {
  const prefix = uniquePrefix('tamper');
  copies.push(prefix);
  const from = audit.dir.keys.prefix;
  let cursor = '0';
  do {
    const [next, found] = await redis.scan(cursor, 'MATCH', `${from}:{audit}:*`, 'COUNT', 1000);
    cursor = next;
    for (const key of found) await redis.copy(key, `${prefix}${key.slice(from.length)}`);
  } while (cursor !== '0');
  const keys = new AuditKeys(new KeySpace(prefix));
  return { keys, store: new LogStore(redis, keys) };
}

/** Verifies on this thread and on two worker threads: the same report, whatever the damage. */
async function verify(log: LogCopy): Promise<VerificationReport> {
  const { verifier, origin } = audit.ctx.signer;
  const single = await verifyStoredLog(redis, log.keys, log.store, verifier, origin, { threads: 1 });
  const parallel = await verifyStoredLog(redis, log.keys, log.store, verifier, origin, { threads: 2, tilesPerJob: 1 });
  expect(parallel).toEqual(single);
  return single;
}

async function streamRows(log: LogCopy): Promise<Row[]> {
  return (await redis.xrange(log.keys.stream, '-', '+'));
}

/**
 * Rewrites the audit stream through a function of its entries (ids kept unless
 * changed): XADD only appends, so whoever alters an entry in the middle
 * rebuilds the stream, with the same ids.
 */
async function rewriteStream(log: LogCopy, change: (rows: Row[]) => Row[]): Promise<void> {
  const rows = change(await streamRows(log));
  await redis.del(log.keys.stream);
  for (const [id, fields] of rows) await redis.xadd(log.keys.stream, id, ...fields);
}

/** The entry's fields with its outcome changed from success (0) to a minor failure (4), in the flat field and the event. */
const altered = (fields: string[]): string[] =>
  fields.map((value, i) =>
    i > 0 && fields[i - 1] === 'outcome' ? '4' : i > 0 && fields[i - 1] === 'event' ? value.replace('"outcome":"0"', '"outcome":"4"') : i > 0 && fields[i - 1] === 'entry' ? value.replaceAll('"outcome":"0"', '"outcome":"4"') : value,
  );

describe('full verification', () => {
  it('passes the untouched log, with its size and root', async () => {
    const log = await copyOfLog();
    const report = await verify(log);
    expect(report).toMatchObject({ ok: true, size: ENTRIES, claimedSize: ENTRIES, problems: [] });
    expect(report.checkpointsChecked).toBeGreaterThanOrEqual(5);
    expect(report.root).toBe((await log.store.rootAt(ENTRIES)).toString('base64'));
    // Every layout is in it: layout 1 before the position the appender first knew layout 2, the entries' own after (2, 3, then 4).
    expect((await log.store.state()).layout2From).toBe(OLD_LEAVES);
    const layouts = (await log.store.entriesAt(0, ENTRIES)).map((e) => e.layout);
    expect(layouts.slice(0, OLD_LEAVES).every((l) => l === 1)).toBe(true);
    expect(layouts.slice(OLD_LEAVES, GAP_AT).every((l) => l === 2)).toBe(true);
    expect(layouts.slice(GAP_AT, LAYOUT_4_AT).every((l) => l === 3)).toBe(true);
    expect(layouts.slice(LAYOUT_4_AT).every((l) => l === 4)).toBe(true);
  });

  it('finds a layout 4 entry altered in the audit stream at its position: its own values, or a vocabulary reference', async () => {
    const log = await copyOfLog();
    await rewriteStream(log, (rows) => rows.map(([id, fields], i) => [id, i === 450 ? altered(fields) : fields]));
    const report = await verify(log);
    expect(report.ok).toBe(false);
    expect(report.firstBadPosition).toBe(450);
    expect(report.problems[0]).toMatch(/^entry 450 \(stream entry [\d-]+\) does not give its stored leaf hash: altered or moved$/);

    // A reference pointed at another fragment (another coding: say, another agent type) expands to another event: the leaf says so.
    const other = await copyOfLog();
    const moved = (fields: string[]) => fields.map((value, i) => (i > 0 && fields[i - 1] === 'entry' ? value.replace(/\{"#":(\d+)\}/, (_, n: string) => `{"#":${Number(n) + 1}}`) : value));
    await rewriteStream(other, (rows) => rows.map(([id, fields], i) => [id, i === 470 ? moved(fields) : fields]));
    const referenced = await verify(other);
    expect(referenced.ok).toBe(false);
    expect(referenced.firstBadPosition).toBe(470);
  });

  it('finds an entry altered in the audit stream at its position', async () => {
    const log = await copyOfLog();
    await rewriteStream(log, (rows) => rows.map(([id, fields], i) => [id, i === 333 ? altered(fields) : fields]));
    const report = await verify(log);
    expect(report.ok).toBe(false);
    expect(report.firstBadPosition).toBe(333);
    expect(report.problems[0]).toMatch(/^entry 333 \(stream entry [\d-]+\) does not give its stored leaf hash: altered or moved$/);
  });

  it('finds an entry deleted from the audit stream in the middle at its position (XDEL)', async () => {
    const log = await copyOfLog();
    const [id] = (await streamRows(log))[150]!;
    await redis.xdel(log.keys.stream, id);
    const report = await verify(log);
    expect(report.ok).toBe(false);
    expect(report.firstBadPosition).toBe(150);
    expect(report.problems[0]).toBe(`entry 150 (stream entry ${id}) is missing from the audit stream: deleted`);
  });

  it('finds the tail deleted from the audit stream where it was cut', async () => {
    const log = await copyOfLog();
    await redis.xdel(log.keys.stream, ...(await streamRows(log)).slice(420).map(([id]) => id));
    const report = await verify(log);
    expect(report.ok).toBe(false);
    expect(report.size).toBe(420);
    expect(report.firstBadPosition).toBe(420);
    expect(report.problems.join('\n')).toContain('is missing from the audit stream: deleted');
  });

  it('finds the tail deleted, even with the log\'s state, id and hash tiles cut to match, where it was cut', async () => {
    const log = await copyOfLog();
    const rows = await streamRows(log);
    await redis.xdel(log.keys.stream, ...rows.slice(420).map(([id]) => id));
    await redis.del(log.keys.idTile(2), log.keys.hashTile(0, 2));
    const ids = (await redis.get(log.keys.idTile(1)))!.split('\n');
    await redis.set(log.keys.idTile(1), `${ids.slice(0, 420 - TILE_WIDTH).join('\n')}\n`);
    const hashes = (await redis.getBuffer(log.keys.hashTile(0, 1)))!;
    await redis.set(log.keys.hashTile(0, 1), hashes.subarray(0, (420 - TILE_WIDTH) * 32));
    await redis.hset(log.keys.state, 'size', 420, 'lastId', rows[419]![0]);
    const report = await verify(log);
    expect(report.ok).toBe(false);
    expect(report.size).toBe(420);
    expect(report.firstBadPosition).toBe(420);
    expect(report.problems.join('\n')).toContain('removed');
  });

  it('finds two entries swapped in the audit stream at the first of them', async () => {
    const log = await copyOfLog();
    await rewriteStream(log, (rows) => rows.map(([id, fields], i) => [id, i === 10 ? rows[20]![1] : i === 20 ? rows[10]![1] : fields]));
    const report = await verify(log);
    expect(report.ok).toBe(false);
    expect(report.firstBadPosition).toBe(10);
  });

  it('finds an entry inserted into the audit stream where it sits', async () => {
    const log = await copyOfLog();
    const rows = await streamRows(log);
    // An id between the last entry of the first half and the first of the second (a later millisecond).
    const [ms, seq] = rows[GAP_AT - 1]![0].split('-');
    const inserted = `${ms}-${Number(seq) + 1}`;
    expect(streamIdAfter(rows[GAP_AT]![0], inserted)).toBe(true);
    await rewriteStream(log, (all) => [...all.slice(0, GAP_AT), [inserted, all[5]![1]], ...all.slice(GAP_AT)]);
    const report = await verify(log);
    expect(report.ok).toBe(false);
    expect(report.firstBadPosition).toBe(GAP_AT);
    expect(report.problems[0]).toBe(`the audit stream holds entry ${inserted} at position ${GAP_AT}, which the log never appended: inserted`);
  });

  it('finds an entry of layout 3 (its leaf names its id, as layout 2 does) given another AuditEvent id, in the audit stream and the log\'s id tiles alike, at its position', async () => {
    const log = await copyOfLog();
    const rows = await streamRows(log);
    // An id in the gap before the second half's first entry, so stream order and the log's order stay the same.
    const renamed = `${Number(rows[GAP_AT]![0].split('-')[0]) - 1}-0`;
    expect(streamIdAfter(renamed, rows[GAP_AT - 1]![0])).toBe(true);
    await rewriteStream(log, (all) => all.map(([id, fields], i) => [i === GAP_AT ? renamed : id, fields]));
    const ids = (await redis.get(log.keys.idTile(1)))!.split('\n');
    ids[GAP_AT - TILE_WIDTH] = renamed;
    await redis.set(log.keys.idTile(1), ids.join('\n'));
    const report = await verify(log);
    expect(report.ok).toBe(false);
    expect(report.firstBadPosition).toBe(GAP_AT);
    expect(report.problems[0]).toBe(`entry ${GAP_AT} (stream entry ${renamed}) does not give its stored leaf hash: altered or moved`);
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

  it('finds an entry altered in the audit stream whose stored hash was rewritten to match, after the last checkpoint that still holds', async () => {
    const log = await copyOfLog();
    let forged: Row | undefined;
    await rewriteStream(log, (rows) => rows.map(([id, fields], i) => [id, i === 333 ? (forged = [id, altered(fields)])[1] : fields]));
    await redis.setrange(log.keys.hashTile(0, 1), (333 - TILE_WIDTH) * 32, leafHashOfText(canonicalEntry(parseAuditEntry(forged![1]), forged![0])));
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
