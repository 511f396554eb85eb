/**
 * The agency simulator's Redis state: per agency, the messages received (each
 * stored once, with how many times it was delivered), counters, the behaviour
 * it was told to show, and the delivery-token ids it has seen. Keys: keys.ts.
 */
import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { setOnce, type JtiStore } from '../../shared/auth/jti-store.js';
import { LuaScript } from '../../shared/redis/lua-script.js';
import type { Behaviour } from './domain/behaviour.js';
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
 * The messages of one batch request go in one call. The call carries an id of its
 * own, kept per message with the message's place in the call: the same call run again (Redis ran it, then died before
 * its answer got out, and the client re-sent it) counts nothing twice — one
 * arrival is one delivery.
 * A batch request's own count (how many messages it carried) goes in the same call: one write per request.
 * KEYS: messages, receiveCounts, lastReceived, order, stats, agencies, receipts, batchSizes.
 * ARGV: now (ms), agency, the call's id, the batch request's size (0: not a batch), then per message: its id, its
 * stored JSON. Returns each one's receive count.
 */
const RECEIVE = new LuaScript(`
local counts = {}
if ARGV[4] ~= '0' then
  redis.call('HINCRBY', KEYS[5], 'batches', 1)
  redis.call('HINCRBY', KEYS[8], ARGV[4], 1)
end
for i = 5, #ARGV, 2 do
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

interface StoredMessage extends MessageSummary {
  readonly firstReceivedAt: string;
  readonly message: unknown;
}

export class AgencySimStore {
  constructor(
    private readonly redis: Redis,
    private readonly keys: AgencySimKeys,
  ) {}

  /** Stores a delivered message (once per message id); returns how many times it has now been delivered. */
  async receive(agency: string, summary: MessageSummary, message: unknown, nowMs: number): Promise<number> {
    const [count] = await this.receiveMany(agency, [{ summary, message }], nowMs);
    return count!;
  }

  /**
   * `receive` for the messages of one batch request, in one step; each one's receive count, in order. `batchSize`
   * (the request's message count, the ones refused as told included) counts the request itself in the same step.
   */
  async receiveMany(agency: string, messages: readonly { readonly summary: MessageSummary; readonly message: unknown }[], nowMs: number, batchSize = 0): Promise<number[]> {
    if (messages.length === 0 && batchSize === 0) return [];
    const k = this.keys;
    const firstReceivedAt = new Date(nowMs).toISOString();
    const counts = (await RECEIVE.run(
      this.redis,
      [k.messages(agency), k.receiveCounts(agency), k.lastReceived(agency), k.order(agency), k.stats(agency), k.agencies, k.receipts(agency), k.batchSizes(agency)],
      [nowMs, agency, randomUUID(), batchSize, ...messages.flatMap(({ summary, message }) => [summary.messageId, JSON.stringify({ ...summary, firstReceivedAt, message } satisfies StoredMessage)])],
    )) as number[];
    return counts.map(Number);
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

  /** Replay protection for delivery tokens, per agency (shared/messaging/delivery-token.ts `rememberDeliveryToken`). */
  get deliveryJtis(): JtiStore {
    return {
      // One atomic SET NX: two concurrent uses of one token cannot both win; the same SET sent again after a
      // Redis crash lost its answer is still this request's first use, not a replay (setOnce).
      remember: (receiver, jti, forgetAfterMs) => setOnce(this.redis, this.keys.deliveryJti(receiver, jti), Math.max(Math.ceil(forgetAfterMs), Date.now() + 1000)),
    };
  }
}
