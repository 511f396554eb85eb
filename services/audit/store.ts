/**
 * The audit log in Redis: the tree's hash tiles, the stream id of every leaf,
 * and every signed checkpoint (key layout in keys.ts, tiling in domain/tiles.ts).
 * The entries themselves are the audit stream's: the log keeps no copy. Leaf n
 * is the stream entry whose id is the n-th in the id tiles, and its leaf hash
 * covers `canonicalEntry` of that entry's fields.
 *
 * One append is ONE script call for a whole batch of leaves (a thousand by
 * default): with `appendfsync always` each call is one fsync, so the batch,
 * not the leaf, pays for durability. The script appends only if the tree is
 * still the size the appender built on and the batch is exactly the next
 * entries of the audit stream, so no entry becomes two leaves and none is
 * skipped, whatever the number of appenders or crashes in between.
 */
import type { Redis } from 'ioredis';
import { parseAuditEntry, type AuditEntry, type EntryLayout } from '../../shared/audit/audit-entry.js';
import { leafLayoutAt } from './domain/leaf.js';
import { LuaScript } from '../../shared/redis/lua-script.js';
import { parseCheckpointBody } from './domain/checkpoint.js';
import {
  consistencyProofRanges,
  inclusionProofRanges,
  perfectSubtrees,
  rangeHashFromPerfect,
  type Range,
} from './domain/merkle.js';
import {
  Frontier,
  packHashes,
  perfectHashOfSlice,
  sliceOfPerfect,
  sortableStreamId,
  TILE_WIDTH,
  unpackHashes,
  isStreamId,
  type TileSlice,
} from './domain/tiles.js';
import type { AuditKeys } from './keys.js';

/** One leaf of the log: its position, the audit stream id it came from, the entry, and the layout its leaf hash covers. */
export interface LogEntry {
  readonly index: number;
  readonly id: string;
  readonly entry: AuditEntry;
  readonly layout: EntryLayout;
}

/** A signed checkpoint as kept: the note an auditor would keep, and what it says. */
export interface StoredCheckpoint {
  readonly origin: string;
  readonly size: number;
  /** Standard base64, as on the note's third line. */
  readonly rootHash: string;
  /** The signed note (C2SP tlog-checkpoint body + signature line). */
  readonly note: string;
  /** When the log signed it (ISO instant). */
  readonly issued: string;
}

/** A batch ready to append: stream ids and leaf hashes, in stream order. */
export interface PreparedLeaf {
  readonly id: string;
  readonly leafHash: Buffer;
}

export type AppendResult = { readonly kind: 'appended'; readonly frontier: Frontier } | { readonly kind: 'stale' } | { readonly kind: 'gap' };

/** The last full verification (written by `infoshare audit verify` when it reads the hub's Redis). */
export interface VerificationRecord {
  readonly at: string;
  readonly size: number;
  readonly root: string;
  readonly ok: boolean;
  readonly firstBadPosition?: number;
  readonly problem?: string;
}

/**
 * KEYS: [1] audit stream, [2] state, [3] tile starts, then `nh` hash tiles, then the id tile of each level-0
 * tile touched (`ne`).
 * ARGV: [1] the size the batch was built on, [2] k leaves, [3] tile-start members, [4] nh, [5] ne, then the k
 * stream ids, the nh hash tile values, the ne id texts, then the tile-start members. Returns 'ok', 'stale'
 * (the tree is not ARGV[1] leaves) or 'gap' (not the next stream entries).
 */
const APPEND_LUA = new LuaScript(`
local size = tonumber(redis.call('HGET', KEYS[2], 'size') or '0')
if size ~= tonumber(ARGV[1]) then return 'stale' end
local k = tonumber(ARGV[2])
local starts = tonumber(ARGV[3])
local nh = tonumber(ARGV[4])
local ne = tonumber(ARGV[5])
local last = redis.call('HGET', KEYS[2], 'lastId')
local from = '-'
if last then from = '(' .. last end
local nextEntries = redis.call('XRANGE', KEYS[1], from, '+', 'COUNT', k)
if #nextEntries ~= k then return 'gap' end
for i = 1, k do
  if nextEntries[i][1] ~= ARGV[5 + i] then return 'gap' end
end
local a = 5 + k
for j = 1, nh + ne do
  redis.call('APPEND', KEYS[3 + j], ARGV[a + j])
end
a = a + nh + ne
for j = 1, starts do
  redis.call('ZADD', KEYS[3], 0, ARGV[a + j])
end
-- This appender hashes each entry in the layout its v names: from here on, if no earlier one did (domain/leaf.ts).
redis.call('HSETNX', KEYS[2], 'layout2From', size)
redis.call('HSET', KEYS[2], 'size', size + k, 'lastId', ARGV[5 + k])
return 'ok'
`);

/** Perfect subtrees at least this large are cached once computed (each costs up to 127 node hashes). */
const SUBTREE_CACHE_MIN_LEAVES = 2;
/** At most this many cached subtree hashes (~100 bytes each). */
const SUBTREE_CACHE_ENTRIES = 100_000;

function subtreeKey(r: Range): string {
  return `${r.start}:${r.end}`;
}

export class LogStore {
  /** Hashes of complete perfect subtrees already computed: the log is append-only, so they never change. */
  private readonly subtrees = new Map<string, Buffer>();

  constructor(
    private readonly redis: Redis,
    readonly keys: AuditKeys,
  ) {}

  /** Leaves in the tree. */
  async size(): Promise<number> {
    return Number((await this.redis.hget(this.keys.state, 'size')) ?? 0);
  }

  /**
   * Size, the stream id of the last leaf, and the first position whose leaf is
   * in its entry's own layout (domain/leaf.ts; undefined: every leaf is layout 1).
   */
  async state(): Promise<{ size: number; lastId: string | undefined; layout2From: number | undefined }> {
    const [size, lastId, layout2From] = await this.redis.hmget(this.keys.state, 'size', 'lastId', 'layout2From');
    return { size: Number(size ?? 0), lastId: lastId ?? undefined, layout2From: layout2From === null ? undefined : Number(layout2From) };
  }

  /** The tree's right edge as stored: what an appender extends. */
  async frontier(): Promise<{ frontier: Frontier; lastId: string | undefined }> {
    const { size, lastId } = await this.state();
    const slices = Frontier.slicesFor(size);
    const hashes = await this.readSlices(slices);
    return { frontier: Frontier.fromSlices(size, hashes), lastId };
  }

  /**
   * Appends leaves to the tree whose right edge is `base` (left untouched);
   * when they are in, the result carries the new right edge.
   */
  async append(leaves: readonly PreparedLeaf[], base: Frontier): Promise<AppendResult> {
    const next = base.clone();
    if (leaves.length === 0) return { kind: 'appended', frontier: next };
    const appends = next.push(leaves.map((l) => l.leafHash));
    const hashKeys: string[] = [];
    const hashValues: Buffer[] = [];
    for (const a of appends) {
      hashKeys.push(this.keys.hashTile(a.level, a.tile));
      hashValues.push(packHashes(a.hashes));
    }
    // The stream ids, per level-0 tile.
    const idTexts = new Map<number, string>();
    const starts: string[] = [];
    leaves.forEach((leaf, i) => {
      const index = base.size + i;
      const tile = Math.floor(index / TILE_WIDTH);
      idTexts.set(tile, `${idTexts.get(tile) ?? ''}${leaf.id}\n`);
      if (index % TILE_WIDTH === 0) starts.push(`${sortableStreamId(leaf.id)}:${tile}`);
    });
    const reply = await APPEND_LUA.run(
      this.redis,
      [this.keys.stream, this.keys.state, this.keys.tileStarts, ...hashKeys, ...[...idTexts.keys()].map((tile) => this.keys.idTile(tile))],
      [String(base.size), String(leaves.length), String(starts.length), String(hashKeys.length), String(idTexts.size), ...leaves.map((l) => l.id), ...hashValues, ...idTexts.values(), ...starts],
    );
    if (reply === 'ok') return { kind: 'appended', frontier: next };
    return { kind: reply === 'stale' ? 'stale' : 'gap' };
  }

  /** The hashes of the given subtrees of the tree (each any range a proof names). */
  async rangeHashes(ranges: readonly Range[]): Promise<Buffer[]> {
    const perfect = ranges.map((r) => perfectSubtrees(r));
    const all = perfect.flat();
    // A perfect subtree never changes once complete: those already computed come from the cache.
    const known = new Map<string, Buffer>();
    const missing: Range[] = [];
    for (const r of all) {
      const cached = this.subtrees.get(subtreeKey(r));
      if (cached) known.set(subtreeKey(r), cached);
      else missing.push(r);
    }
    const computed = (await this.readSlices(missing.map(sliceOfPerfect))).map(perfectHashOfSlice);
    missing.forEach((r, i) => known.set(subtreeKey(r), computed[i]!));
    missing.forEach((r, i) => this.remember(r, computed[i]!));
    return perfect.map((parts) => rangeHashFromPerfect(parts.map((r) => known.get(subtreeKey(r))!)));
  }

  /**
   * Keeps a computed perfect subtree hash. Only subtrees of more than one
   * tile's worth of hashing are worth keeping; the cache is bounded and simply
   * starts again when full (the hashes near the top, shared by every proof,
   * are back after the next few proofs).
   */
  private remember(range: Range, hash: Buffer): void {
    if (range.end - range.start < SUBTREE_CACHE_MIN_LEAVES) return;
    if (this.subtrees.size >= SUBTREE_CACHE_ENTRIES) this.subtrees.clear();
    this.subtrees.set(subtreeKey(range), hash);
  }

  /** The root hash of the tree at `size` leaves (any size up to the current one). */
  async rootAt(size: number): Promise<Buffer> {
    const [root] = await this.rangeHashes([{ start: 0, end: size }]);
    return root!;
  }

  /** RFC 9162 inclusion proof of leaf `index` in the tree of `treeSize` leaves. */
  async inclusionProof(index: number, treeSize: number): Promise<Buffer[]> {
    await this.assertWithin(treeSize);
    return this.rangeHashes(inclusionProofRanges(index, treeSize));
  }

  /** RFC 9162 consistency proof from tree size `from` to `to`. */
  async consistencyProof(from: number, to: number): Promise<Buffer[]> {
    await this.assertWithin(to);
    return this.rangeHashes(consistencyProofRanges(from, to));
  }

  /** The stored leaf hash of one position. */
  async leafHashAt(index: number): Promise<Buffer | undefined> {
    const [hashes] = await this.readSlices([{ level: 0, tile: Math.floor(index / TILE_WIDTH), offset: index % TILE_WIDTH, count: 1 }]);
    return hashes?.[0];
  }

  /** The stream ids of the leaves at positions [start, end) (clipped to the tree), in order. */
  async idsAt(start: number, end: number): Promise<string[]> {
    const last = Math.min(end, await this.size());
    if (start >= last) return [];
    const first = Math.floor(start / TILE_WIDTH);
    const texts = await Promise.all(Array.from({ length: Math.floor((last - 1) / TILE_WIDTH) - first + 1 }, (_, i) => this.redis.get(this.keys.idTile(first + i))));
    const ids = texts.flatMap((text) => (text ?? '').split('\n').filter((id) => id !== ''));
    return ids.slice(start - first * TILE_WIDTH, last - first * TILE_WIDTH);
  }

  /**
   * The leaves at positions [start, end) (clipped to the tree), in order, with
   * their entries as the audit stream holds them now. A leaf whose entry the
   * stream no longer holds is left out (`infoshare audit verify` reports it).
   */
  async entriesAt(start: number, end: number): Promise<LogEntry[]> {
    const ids = await this.idsAt(start, end);
    if (ids.length === 0) return [];
    const [rows, layout2From] = await Promise.all([this.redis.xrange(this.keys.stream, ids[0]!, ids[ids.length - 1]!), this.layout2From()]);
    const byId = new Map(rows.map(([id, fields]) => [id, fields]));
    const out: LogEntry[] = [];
    ids.forEach((id, i) => {
      const entry = entryOfFields(byId.get(id));
      if (entry) out.push({ index: start + i, id, entry, layout: leafLayoutAt(start + i, entry, layout2From) });
    });
    return out;
  }

  /** The stored leaf hashes of one level-0 tile. */
  async leafHashTile(tile: number): Promise<Buffer[]> {
    return unpackHashes((await this.redis.getBuffer(this.keys.hashTile(0, tile))) ?? Buffer.alloc(0));
  }

  /** The position of the leaf made from audit stream entry `id` (the AuditEvent id), if it is in the log. */
  async positionOf(id: string): Promise<number | undefined> {
    if (!isStreamId(id)) return undefined;
    const [member] = await this.redis.zrange(this.keys.tileStarts, `(${sortableStreamId(id)};`, '-', 'BYLEX', 'REV', 'LIMIT', 0, 1);
    if (!member) return undefined;
    const tile = Number(member.slice(member.lastIndexOf(':') + 1));
    const ids = ((await this.redis.get(this.keys.idTile(tile))) ?? '').split('\n');
    const at = ids.indexOf(id);
    return at < 0 ? undefined : tile * TILE_WIDTH + at;
  }

  /**
   * The leaf of one AuditEvent id: its position in the log, and its entry as
   * the audit stream holds it (undefined if the stream no longer does: no `entry`, no `layout`).
   */
  async leafById(id: string): Promise<{ index: number; id: string; entry?: AuditEntry; layout?: EntryLayout } | undefined> {
    const index = await this.positionOf(id);
    if (index === undefined) return undefined;
    const [[row], layout2From] = await Promise.all([this.redis.xrange(this.keys.stream, id, id), this.layout2From()]);
    const entry = entryOfFields(row?.[1]);
    return entry ? { index, id, entry, layout: leafLayoutAt(index, entry, layout2From) } : { index, id };
  }

  /** The first position whose leaf is in its entry's own layout (domain/leaf.ts); undefined: none yet. */
  async layout2From(): Promise<number | undefined> {
    return (await this.state()).layout2From;
  }

  /** Whether the log still holds the copy of its entries the former layout kept (keys.formerEntryCopyPatterns). */
  async holdsFormerEntryCopies(): Promise<boolean> {
    const [entries, offsets] = this.keys.formerEntryCopyPatterns().map((p) => p.replace('*', '0'));
    return (await this.redis.exists(entries!, offsets!)) > 0;
  }

  /** Keeps a signed checkpoint (every one is kept: score = tree size). */
  async addCheckpoint(note: string, issued: Date): Promise<StoredCheckpoint> {
    const stored = storedCheckpoint(note, issued.toISOString());
    await this.redis.zadd(this.keys.checkpoints, stored.size, JSON.stringify({ note, issued: stored.issued }));
    return stored;
  }

  async latestCheckpoint(): Promise<StoredCheckpoint | undefined> {
    const [member] = await this.redis.zrevrange(this.keys.checkpoints, 0, 0);
    return member ? parseStored(member) : undefined;
  }

  /** The checkpoints signed at one tree size (more than one with different roots would be a fork). */
  async checkpointsAt(size: number): Promise<StoredCheckpoint[]> {
    return (await this.redis.zrangebyscore(this.keys.checkpoints, size, size)).map(parseStored);
  }

  /** The first checkpoint at or above `size` (the one that covers a leaf below it). */
  async checkpointCovering(size: number): Promise<StoredCheckpoint | undefined> {
    const [member] = await this.redis.zrangebyscore(this.keys.checkpoints, size, '+inf', 'LIMIT', 0, 1);
    return member ? parseStored(member) : undefined;
  }

  /** Every checkpoint, by tree size. */
  async allCheckpoints(): Promise<StoredCheckpoint[]> {
    return (await this.redis.zrange(this.keys.checkpoints, '0', '-1')).map(parseStored);
  }

  async saveVerification(record: VerificationRecord): Promise<void> {
    await this.redis.set(this.keys.lastVerification, JSON.stringify(record));
  }

  async lastVerification(): Promise<VerificationRecord | undefined> {
    const text = await this.redis.get(this.keys.lastVerification);
    return text ? (JSON.parse(text) as VerificationRecord) : undefined;
  }

  private async assertWithin(size: number): Promise<void> {
    const current = await this.size();
    if (size > current) throw new RangeError(`the log has ${current} entries, not ${size}`);
  }

  /** Reads tile slices in one round trip. */
  private async readSlices(slices: readonly TileSlice[]): Promise<Buffer[][]> {
    if (slices.length === 0) return [];
    const pipeline = this.redis.pipeline();
    for (const s of slices) {
      if (s.count === 0) pipeline.echo('');
      else pipeline.getrangeBuffer(this.keys.hashTile(s.level, s.tile), s.offset * 32, (s.offset + s.count) * 32 - 1);
    }
    const results = (await pipeline.exec()) ?? [];
    return slices.map((s, i) => {
      const [err, value] = results[i] ?? [new Error('no reply'), null];
      if (err) throw err;
      if (s.count === 0) return [];
      const hashes = unpackHashes(value as Buffer);
      if (hashes.length !== s.count) throw new Error(`hash tile ${s.level}/${s.tile} holds fewer hashes than the tree needs`);
      return hashes;
    });
  }
}

function storedCheckpoint(note: string, issued: string): StoredCheckpoint {
  const body = note.slice(0, note.lastIndexOf('\n\n') + 1);
  const parsed = parseCheckpointBody(body);
  if (!parsed.ok) throw new Error(`not a checkpoint: ${parsed.problem.detail}`);
  const { origin, size, rootHash } = parsed.checkpoint;
  return { origin, size, rootHash: rootHash.toString('base64'), note, issued };
}

function parseStored(member: string): StoredCheckpoint {
  const { note, issued } = JSON.parse(member) as { note: string; issued: string };
  return storedCheckpoint(note, issued);
}

/** An audit entry from the field list XRANGE gives; undefined when there is none or it lacks a layout field. */
function entryOfFields(fields: string[] | undefined): AuditEntry | undefined {
  if (!fields) return undefined;
  try {
    return parseAuditEntry(fields);
  } catch {
    return undefined;
  }
}
