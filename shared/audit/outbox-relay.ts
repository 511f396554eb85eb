/**
 * Moves change records from the outboxes (`outbox.ts`) to the audit stream,
 * exactly once and in each outbox's order.
 *
 * Exactly once without coordination: a script in the audit stream's slot keeps,
 * per outbox, the id of the last entry relayed (`{audit}:relayed`), appends only
 * entries after it and moves the cursor in the same call. Entries are deleted
 * from the outbox afterwards; a relay that dies in between, or two relays (two
 * processes, or a flush racing the timer) reading the same entries, append
 * nothing twice. Outbox ids only grow (XADD `*`), so "after the cursor" is
 * "not relayed yet".
 *
 * One pass at a time per outbox, across processes: a pass holds a short lease
 * in the outbox's own slot (`<outbox>:relaying`, taken in the script that reads
 * the entries, renewed with each batch, given back with the last batch's
 * delete). Without it two processes relaying one outbox (the alerts service
 * after each accept, its delivery process after its steps) read and sent the
 * same entries both, one of the two appends skipping them all: every record
 * crossed their sockets twice more. A pass that finds the lease held waits
 * until the entries that were in the outbox when it asked are gone (the
 * holder relayed them) or the lease is its own. The lease saves work only:
 * exactly once still rests on the cursor, so a holder that died (its lease
 * lapses in `RELAY_LEASE_MS`) or stalled past the lease costs at most a
 * duplicate read, never a duplicate append.
 *
 * Two outboxes of one slot whose records are causally ordered (the alerts
 * service's accepts, and its deliveries' moves made later by another process)
 * keep that order in the stream: `watchAfter(later, earlier)` relays a batch
 * of `later` only after relaying `earlier` fully — its entries read first, so
 * every entry of `earlier` committed before them is appended ahead of them.
 * The accepting process can then relay its own outbox alone (`only`), and the
 * delivery steps' records are copied by the delivery process.
 *
 * Services `flush()` right after a commit, so in normal running a change's
 * record is in the audit stream before the answer; the timer catches up
 * whatever a failed flush or a crashed process left behind. A flush that fails
 * does not fail the request: the record is already durable in the outbox.
 */
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Redis } from 'ioredis';
import { Gauge, type Registry } from 'prom-client';
import { createLogger, type Logger } from '../log.js';
import { failpoint, paused } from '../runtime/failpoints.js';
import { LuaScript } from '../redis/lua-script.js';
import type { KeySpace } from '../redis/connection.js';
import { auditStreamKey } from './audit-stream.js';
import { AUDIT_ENTRY_FIELDS, WRITTEN_ENTRY_FIELDS } from './audit-entry.js';

/** Hash in the audit stream's slot: outbox key → id of the last entry relayed from it. */
export function relayCursorKey(keys: KeySpace): string {
  return keys.key('audit', 'relayed');
}

/**
 * KEYS[1] audit stream, KEYS[2] relay cursors. ARGV[1] outbox key (cursor field),
 * ARGV[2] fields per entry, then per entry: its outbox id and its field/value pairs.
 * Returns how many entries were appended (entries at or before the cursor are skipped).
 */
const RELAY_LUA = new LuaScript(`
local function parse(id)
  local ms, seq = string.match(id, '^(%d+)-(%d+)$')
  return tonumber(ms), tonumber(seq)
end
local cursor = redis.call('HGET', KEYS[2], ARGV[1]) or '0-0'
local lastMs, lastSeq = parse(cursor)
local last = cursor
local width = tonumber(ARGV[2]) * 2
local appended = 0
local i = 3
while i <= #ARGV do
  local ms, seq = parse(ARGV[i])
  if ms > lastMs or (ms == lastMs and seq > lastSeq) then
    redis.call('XADD', KEYS[1], '*', unpack(ARGV, i + 1, i + width))
    lastMs, lastSeq, last = ms, seq, ARGV[i]
    appended = appended + 1
  end
  i = i + 1 + width
end
if last ~= cursor then redis.call('HSET', KEYS[2], ARGV[1], last) end
return appended
`);

/** How long a pass's lease on an outbox lasts without renewal (a pass renews it with each batch): a dead holder's lapses. */
export const RELAY_LEASE_MS = 2_000;
/** How often a pass that found another process's lease looks again. */
const LEASE_POLL_MS = 10;

/** The lease of the pass relaying an outbox (in the outbox's slot: the same script reads both). */
export function relayLeaseKey(outbox: string): string {
  return `${outbox}:relaying`;
}

/**
 * KEYS[1] outbox, KEYS[2] its lease. ARGV[1] this relay's token, ARGV[2] lease ms, ARGV[3] batch size, ARGV[4] the
 * entry this pass waits to see gone ('' the first time). Returns:
 *   {'rows', <XRANGE of the first batch>} — the lease is this relay's (taken or renewed);
 *   {'empty'} — nothing to relay (a lease of this relay's is given back);
 *   {'held', <id or false>} — another relay's pass holds it: on the first call, the last entry now (false: none);
 *     afterwards, ARGV[4] while an entry at or before it is still there, false once the holder has moved them all.
 * Reads only while the lease is held elsewhere or the outbox is empty: no write, no fsync.
 */
const CLAIM_LUA = new LuaScript(`
local holder = redis.call('GET', KEYS[2])
if holder and holder ~= ARGV[1] then
  if ARGV[4] == '' then
    local last = redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', 1)[1]
    return {'held', last and last[1] or false}
  end
  local waiting = redis.call('XRANGE', KEYS[1], '-', ARGV[4], 'COUNT', 1)[1]
  return {'held', waiting and ARGV[4] or false}
end
if redis.call('XLEN', KEYS[1]) == 0 then
  if holder then redis.call('DEL', KEYS[2]) end
  return {'empty'}
end
redis.call('SET', KEYS[2], ARGV[1], 'PX', ARGV[2])
return {'rows', redis.call('XRANGE', KEYS[1], '-', '+', 'COUNT', ARGV[3])}
`);

/** KEYS[1] outbox, KEYS[2] its lease. ARGV[1] token, ARGV[2] '1' to give the lease back, then the ids to delete. */
const DELETE_LUA = new LuaScript(`
if #ARGV > 2 then redis.call('XDEL', KEYS[1], unpack(ARGV, 3)) end
if ARGV[2] == '1' and redis.call('GET', KEYS[2]) == ARGV[1] then redis.call('DEL', KEYS[2]) end
return 1
`);

type ClaimReply = ['rows', [string, string[]][]] | ['empty'] | ['held', string | null];

export interface OutboxRelayOptions {
  /** How often the timer looks for entries a flush did not move (ms). Default 500. */
  readonly intervalMs?: number;
  /** Entries read and appended per script call. Default 200. */
  readonly batchSize?: number;
  readonly log?: Logger;
}

export class OutboxRelay {
  private readonly intervalMs: number;
  private readonly batchSize: number;
  private readonly log: Logger;
  /** One relay pass per outbox at a time in this process; a second caller waits for it and then runs its own. */
  private readonly running = new Map<string, Promise<number>>();
  /** Per outbox, the pass queued behind the running one and not started yet (callers join it). */
  private readonly waiting = new Map<string, Promise<number>>();
  private timer: Promise<void> | undefined;
  private stopped = false;
  /** The outbox keys this relay moves (a service's own): stores add theirs when built (`watch`). */
  private readonly outboxes = new Set<string>();
  /** Outbox → the outbox relayed fully before each of its batches is appended (`watchAfter`). */
  private readonly after = new Map<string, string>();
  /** This relay's name on an outbox's lease (its passes of one outbox run one at a time: see `relay`). */
  private readonly token = randomBytes(9).toString('base64url');

  constructor(
    private readonly redis: Redis,
    private readonly keys: KeySpace,
    options: OutboxRelayOptions = {},
  ) {
    this.intervalMs = options.intervalMs ?? 500;
    this.batchSize = options.batchSize ?? 200;
    this.log = options.log ?? createLogger('outbox-relay');
  }

  /** Adds outboxes to relay (each store of the service adds its own). */
  watch(...outboxKeys: string[]): this {
    for (const key of outboxKeys) this.outboxes.add(key);
    return this;
  }

  /**
   * Adds an outbox whose entries follow those of `earlier` (watched too) causally: an entry of `earlier`
   * committed before one of `later` is appended to the stream ahead of it, whichever process relays which.
   * Both in one slot: their entry ids come from one clock, and a reader can tell when both are relayed.
   */
  watchAfter(later: string, earlier: string): this {
    this.outboxes.add(earlier).add(later);
    this.after.set(later, earlier);
    return this;
  }

  /**
   * Exports the outboxes' backlog as `infoshare_audit_outbox_backlog` (read from Redis when
   * scraped): change records committed but not yet in the audit stream. Above zero for long
   * means the audit stream cannot be written — the changes are safe, the trail is behind.
   */
  exportMetrics(registry: Registry): this {
    const backlog = () => this.backlog();
    new Gauge({
      name: 'infoshare_audit_outbox_backlog',
      help: 'Change records committed with their changes but not yet relayed to the audit stream, by outbox',
      labelNames: ['outbox'] as const,
      registers: [registry],
      async collect() {
        this.reset();
        for (const [outbox, length] of Object.entries(await backlog())) this.set({ outbox }, length);
      },
    });
    return this;
  }

  /** Starts the catch-up timer. */
  start(): void {
    if (this.timer) return;
    this.timer = this.loop();
  }

  /**
   * Moves everything now in this relay's outboxes (or in `only` of them, and in those they are watched after) to the
   * audit stream; resolves with how many entries of the outboxes asked for moved (not those of an outbox relayed
   * only because one asked for is watched after it).
   */
  async flush(only?: readonly string[]): Promise<number> {
    const counts = await Promise.all([...(only ?? this.outboxes)].map((key) => this.relay(key)));
    return counts.reduce((a, b) => a + b, 0);
  }

  /**
   * `flush` for callers that must not fail because of it (a request whose change
   * is committed): a failure is logged and left to the timer.
   */
  async flushQuietly(requestId?: string, only?: readonly string[]): Promise<void> {
    // Crash tests die here: a change and its record are committed, the record not yet relayed.
    failpoint('audit.before-relay');
    await this.catchUp(requestId, only);
  }

  private async catchUp(requestId?: string, only?: readonly string[]): Promise<void> {
    try {
      await this.flush(only);
    } catch (err) {
      this.log.warn({ err, requestId }, 'audit outbox relay failed; the records wait in the outbox and are relayed later');
    }
  }

  /** Entries still waiting, per outbox (for readiness and tests). */
  async backlog(): Promise<Record<string, number>> {
    const keys = [...this.outboxes];
    const lengths = await Promise.all(keys.map((key) => this.redis.xlen(key)));
    return Object.fromEntries(keys.map((key, i) => [key, lengths[i] ?? 0]));
  }

  async close(): Promise<void> {
    this.stopped = true;
    await this.timer;
    await Promise.allSettled([...this.running.values()]);
  }

  private async loop(): Promise<void> {
    while (!this.stopped) {
      // A crash test that kills between a commit and its relay holds the timer back, or under load it could relay first.
      if (!paused('audit.relay-timer')) await this.catchUp();
      // Sleep in short steps so close() is prompt.
      for (let waited = 0; waited < this.intervalMs && !this.stopped; waited += 50) await sleep(50, undefined, { ref: false });
    }
  }

  private relay(outbox: string): Promise<number> {
    // A pass that has not started yet reads everything committed before it starts, this caller's
    // entries included: join it. Under load (a flush per delivery) that is one pass per round, not one per caller.
    const waiting = this.waiting.get(outbox);
    if (waiting) return waiting;
    const previous = this.running.get(outbox) ?? Promise.resolve(0);
    const next = previous
      .catch(() => 0)
      .then(() => {
        this.waiting.delete(outbox);
        return this.relayAll(outbox);
      });
    this.waiting.set(outbox, next);
    this.running.set(outbox, next);
    void next.finally(() => {
      if (this.running.get(outbox) === next) this.running.delete(outbox);
    }).catch(() => undefined);
    return next;
  }

  private async relayAll(outbox: string): Promise<number> {
    const lease = relayLeaseKey(outbox);
    let moved = 0;
    let waitingFor = '';
    try {
      for (;;) {
        const reply = (await CLAIM_LUA.run(this.redis, [outbox, lease], [this.token, RELAY_LEASE_MS, this.batchSize, waitingFor])) as ClaimReply;
        if (reply[0] === 'empty') return moved;
        if (reply[0] === 'held') {
          // Another process's pass: it moves what is there now; this one is done once those entries are gone.
          if (!reply[1]) return moved;
          waitingFor = reply[1];
          await sleep(LEASE_POLL_MS);
          continue;
        }
        const rows = reply[1];
        // Read before the earlier outbox is relayed: every entry of it committed before these rows is in the
        // stream when they are appended (a failure there appends none of them; the lease goes back below).
        const earlier = this.after.get(outbox);
        if (earlier !== undefined) await this.relay(earlier);
        moved += await relayBatch(this.redis, this.keys, outbox, rows);
        // Only after the append (or its skip) is committed: a crash before this re-reads them, and the cursor skips them.
        const last = rows.length < this.batchSize;
        await DELETE_LUA.run(this.redis, [outbox, lease], [this.token, last ? '1' : '0', ...rows.map(([id]) => id)]);
        if (last) return moved;
      }
    } catch (err) {
      // Give the lease back at once (it would lapse anyway): another process's pass need not wait for it.
      await DELETE_LUA.run(this.redis, [outbox, lease], [this.token, '1']).catch(() => undefined);
      throw err;
    }
  }
}

/**
 * Appends outbox rows (as XRANGE returns them) to the audit stream, skipping
 * those already relayed; returns how many were appended. Safe to call again with
 * the same rows (a relay that died before deleting them): it appends nothing twice.
 */
export async function relayBatch(redis: Redis, keys: KeySpace, outbox: string, rows: readonly [string, string[]][]): Promise<number> {
  let appended = 0;
  // One script call per run of entries of one width, in order: an outbox written before layout 3 (nine fields
  // an entry) may still hold entries when the first one-field entry joins it.
  for (let start = 0; start < rows.length; ) {
    const width = rows[start]![1].length;
    const args: string[] = [outbox, String(width / 2)];
    let end = start;
    for (; end < rows.length && rows[end]![1].length === width; end++) {
      const [id, fields] = rows[end]!;
      // Every writer uses a layout (outboxEntryArgs); anything else would shift every later entry's fields.
      if (width !== WRITTEN_ENTRY_FIELDS * 2 && width !== AUDIT_ENTRY_FIELDS.length * 2) throw new Error(`Outbox entry ${outbox} ${id} does not have the audit entry layout`);
      args.push(id, ...fields);
    }
    appended += Number(await RELAY_LUA.run(redis, [auditStreamKey(keys), relayCursorKey(keys)], args));
    start = end;
  }
  return appended;
}
