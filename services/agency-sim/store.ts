/**
 * The agency simulator's Redis state: per agency, the messages received (each
 * stored once, with how many times it was delivered), counters, the behaviour
 * it was told to show, and the delivery-token ids it has seen. Keys: keys.ts.
 */
import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { jtiExpiryMs, setOnce, type JtiStore } from '../../shared/auth/jti-store.js';
import { LuaScript } from '../../shared/redis/lua-script.js';
import type { Behaviour } from './domain/behaviour.js';
import type { DeliveryTokenMemory } from '../../shared/messaging/delivery-token.js';
import type { MessageSummary } from './domain/received-message.js';
import type { AgencySimKeys } from './keys.js';

/** What happened to a delivery, counted per agency. */
export type DeliveryCounter = 'accepted' | 'duplicates' | 'refused' | 'replays' | 'transient' | 'fatal' | 'down' | 'batches';

export interface ReceivedMessage extends MessageSummary {
  readonly firstReceivedAt: string;
  readonly lastReceivedAt: string;
  /** How many times it was delivered (1 = once; more = duplicate deliveries, stored once). */
  readonly receiveCount: number;
  readonly message: unknown;
}

/**
 * Stores each message the first time its id arrives and counts every arrival, in
 * one step: two concurrent deliveries of one message store it once and count two.
 * The messages of one request go in one call, with everything else the request
 * writes: the delivery token's id (replay protection: a token seen before writes
 * nothing but the replay's count), the request's own count when it is a batch
 * (how many messages it carried), and the messages it refused as told — one
 * fsync'd write per request. The call carries an id of its own, kept per message
 * with the message's place in the call (and as the token id's value): the same
 * call run again (Redis ran it, then died before its answer got out, and the
 * client re-sent it) counts nothing twice — one arrival is one delivery.
 * KEYS: messages, receiveCounts, lastReceived, order, stats, agencies, receipts, batchSizes, and — a delivery, not a
 * pull — the token id's key.
 * ARGV: now (ms), agency, the call's id, the batch request's size (0: not a batch), when the token id may be
 * forgotten (epoch ms; '' without one), messages refused as transient, as fatal, then per message: its id, its stored
 * JSON. Returns each one's receive count, or 'replayed' (the token id was seen before).
 */
const RECEIVE = new LuaScript(`
local resent = false
if KEYS[9] then
  local before = redis.call('SET', KEYS[9], ARGV[3], 'PXAT', ARGV[5], 'NX', 'GET')
  if before and before ~= ARGV[3] then
    redis.call('HINCRBY', KEYS[5], 'replays', 1)
    redis.call('SADD', KEYS[6], ARGV[2])
    return 'replayed'
  end
  resent = before == ARGV[3]
end
local counts = {}
if not resent then
  if ARGV[4] ~= '0' then
    redis.call('HINCRBY', KEYS[5], 'batches', 1)
    redis.call('HINCRBY', KEYS[8], ARGV[4], 1)
  end
  if ARGV[6] ~= '0' then redis.call('HINCRBY', KEYS[5], 'transient', ARGV[6]) end
  if ARGV[7] ~= '0' then redis.call('HINCRBY', KEYS[5], 'fatal', ARGV[7]) end
end
for i = 8, #ARGV, 2 do
  local id = ARGV[i]
  local receipt = ARGV[3] .. '#' .. i
  if redis.call('HGET', KEYS[7], id) == receipt then
    counts[#counts + 1] = tonumber(redis.call('HGET', KEYS[2], id))
  else
    redis.call('HSET', KEYS[7], id, receipt)
    local isNew = redis.call('HSETNX', KEYS[1], id, ARGV[i + 1])
    counts[#counts + 1] = redis.call('HINCRBY', KEYS[2], id, 1)
    redis.call('HSET', KEYS[3], id, ARGV[1])
    if isNew == 1 then
      redis.call('RPUSH', KEYS[4], id)
      redis.call('HINCRBY', KEYS[5], 'accepted', 1)
    else
      redis.call('HINCRBY', KEYS[5], 'duplicates', 1)
    end
  end
end
redis.call('SADD', KEYS[6], ARGV[2])
return counts
`);

/** A message to keep: its summary and the message, and — when the request's bytes are the message's — those bytes, kept as they came. */
export interface MessageToKeep {
  readonly summary: MessageSummary;
  readonly message: unknown;
  readonly text?: string;
}

/** What one delivery request writes besides the messages it keeps (`AgencySimStore.take`). */
export interface DeliveryRequestWrites {
  /** Its delivery token's id, remembered until then (shared/messaging/delivery-token.ts `deliveryTokenMemory`). */
  readonly token: DeliveryTokenMemory;
  /** The request's message count when it is a batch (the ones refused as told included); 0 for a single message. */
  readonly batchSize: number;
  /** Messages answered transient-error and fatal-error as told (counted, not kept). */
  readonly refused: { readonly transient: number; readonly fatal: number };
}

interface StoredMessage extends MessageSummary {
  readonly firstReceivedAt: string;
  readonly message: unknown;
}

export class AgencySimStore {
  constructor(
    private readonly redis: Redis,
    private readonly keys: AgencySimKeys,
  ) {}

  /** Stores a message pulled from the inbox (once per message id); returns how many times it has now arrived. */
  async receive(agency: string, summary: MessageSummary, message: unknown, nowMs: number): Promise<number> {
    const [count] = (await this.runReceive(agency, [{ summary, message }], nowMs, undefined)) as number[];
    return count!;
  }

  /**
   * Everything one delivery request writes, in one step: its token's id (a replay: 'replayed', and nothing kept),
   * the messages to keep (each once per message id, every arrival counted: their receive counts, in order), the
   * request's own count when it is a batch, and what it refused as told.
   */
  async take(agency: string, messages: readonly MessageToKeep[], nowMs: number, writes: DeliveryRequestWrites): Promise<number[] | 'replayed'> {
    return this.runReceive(agency, messages, nowMs, writes);
  }

  private async runReceive(agency: string, messages: readonly MessageToKeep[], nowMs: number, writes: DeliveryRequestWrites | undefined): Promise<number[] | 'replayed'> {
    const k = this.keys;
    const firstReceivedAt = new Date(nowMs).toISOString();
    const keys = [k.messages(agency), k.receiveCounts(agency), k.lastReceived(agency), k.order(agency), k.stats(agency), k.agencies, k.receipts(agency), k.batchSizes(agency)];
    if (writes) keys.push(k.deliveryJti(writes.token.receiver, writes.token.jti));
    const args = [
      nowMs,
      agency,
      randomUUID(),
      writes?.batchSize ?? 0,
      writes ? jtiExpiryMs(writes.token.forgetAfterMs, nowMs) : '',
      writes?.refused.transient ?? 0,
      writes?.refused.fatal ?? 0,
      ...messages.flatMap((m) => [m.summary.messageId, storedJson(m, firstReceivedAt)]),
    ];
    const reply = (await RECEIVE.run(this.redis, keys, args)) as number[] | string;
    return typeof reply === 'string' ? 'replayed' : reply.map(Number);
  }

  async count(agency: string, counter: DeliveryCounter): Promise<void> {
    await this.redis.multi().hincrby(this.keys.stats(agency), counter, 1).sadd(this.keys.agencies, agency).exec();
  }

  async stats(agency: string): Promise<Record<DeliveryCounter, number>> {
    const raw = await this.redis.hgetall(this.keys.stats(agency));
    const n = (k: DeliveryCounter) => Number(raw[k] ?? 0);
    return {
      accepted: n('accepted'),
      duplicates: n('duplicates'),
      refused: n('refused'),
      replays: n('replays'),
      transient: n('transient'),
      fatal: n('fatal'),
      down: n('down'),
      batches: n('batches'),
    };
  }

  /** How many batch requests carried how many messages: size → requests. */
  async batchSizes(agency: string): Promise<Record<string, number>> {
    const raw = await this.redis.hgetall(this.keys.batchSizes(agency));
    return Object.fromEntries(Object.entries(raw).map(([size, n]) => [size, Number(n)]));
  }

  /** The messages received, in the order they first arrived, from `offset`, at most `count`. */
  async received(agency: string, offset: number, count: number): Promise<{ total: number; messages: ReceivedMessage[] }> {
    const k = this.keys;
    const [total, ids] = await Promise.all([this.redis.llen(k.order(agency)), this.redis.lrange(k.order(agency), offset, offset + count - 1)]);
    if (ids.length === 0) return { total, messages: [] };
    const [stored, counts, last] = await Promise.all([
      this.redis.hmget(k.messages(agency), ...ids),
      this.redis.hmget(k.receiveCounts(agency), ...ids),
      this.redis.hmget(k.lastReceived(agency), ...ids),
    ]);
    const messages = ids.flatMap((_id, i) => {
      const json = stored[i];
      if (!json) return [];
      const m = JSON.parse(json) as StoredMessage;
      return [{ ...m, receiveCount: Number(counts[i] ?? 1), lastReceivedAt: new Date(Number(last[i] ?? 0)).toISOString() }];
    });
    return { total, messages };
  }

  async behaviour(agency: string): Promise<Behaviour | undefined> {
    const json = await this.redis.get(this.keys.behaviour(agency));
    return json ? (JSON.parse(json) as Behaviour) : undefined;
  }

  async setBehaviour(agency: string, behaviour: Behaviour): Promise<void> {
    await this.redis.multi().set(this.keys.behaviour(agency), JSON.stringify(behaviour)).sadd(this.keys.agencies, agency).exec();
  }

  async pulledThrough(agency: string): Promise<number> {
    return Number((await this.redis.get(this.keys.pulledThrough(agency))) ?? 0);
  }

  async setPulledThrough(agency: string, seq: number): Promise<void> {
    await this.redis.multi().set(this.keys.pulledThrough(agency), seq).sadd(this.keys.agencies, agency).exec();
  }

  /** Forgets what one agency received, its counters and behaviour (its seen token ids stay: a reset opens no replay window). */
  async reset(agency: string): Promise<void> {
    await this.redis.multi().del(...this.keys.agencyState(agency)).srem(this.keys.agencies, agency).exec();
  }

  /** Resets every agency that has state here; returns them. */
  async resetAll(): Promise<string[]> {
    const agencies = await this.redis.smembers(this.keys.agencies);
    for (const agency of agencies) await this.reset(agency);
    return agencies.sort();
  }

  /** Replay protection for delivery tokens, per agency, on its own (a request refused before `take`: shared/messaging/delivery-token.ts `rememberDeliveryToken`). */
  get deliveryJtis(): JtiStore {
    return {
      // One atomic SET NX: two concurrent uses of one token cannot both win; the same SET sent again after a
      // Redis crash lost its answer is still this request's first use, not a replay (setOnce).
      remember: (receiver, jti, forgetAfterMs) => setOnce(this.redis, this.keys.deliveryJti(receiver, jti), jtiExpiryMs(forgetAfterMs, Date.now())),
    };
  }
}

/**
 * A message as stored: its summary, when it first arrived, and the message — the bytes it came as when the request
 * gave them (the body of a message sent alone, its entry's text in a batch: kept, not re-serialised), else written out
 * again.
 */
function storedJson({ summary, message, text }: MessageToKeep, firstReceivedAt: string): string {
  const head = { ...summary, firstReceivedAt };
  if (text === undefined) return JSON.stringify({ ...head, message } satisfies StoredMessage);
  return `${JSON.stringify(head).slice(0, -1)},"message":${text}}`;
}
