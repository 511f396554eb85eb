/**
 * The alerts service's Redis store (keys.ts names every key).
 *
 * "Accepted" means "will not be lost": ONE Lua script (`accept`) writes the
 * message, one delivery per recipient (state `pending`), each recipient's next
 * sequence number and inbox entry, the `unqueued` markers and the audit change
 * record — all under the `{alerts}` hash tag, so Redis applies all of it or
 * none, on a cluster too — and only then is the sender told "accepted". The
 * BullMQ jobs are added after (workers/deliveries.ts); until they are confirmed
 * the deliveries stay in `unqueued`, which the sweeper re-queues.
 */
import type { Redis } from 'ioredis';
import type { ExchangeRecord } from '../../shared/audit/exchange.js';
import { outboxEntryArgs } from '../../shared/audit/outbox.js';
import { LuaScript } from '../../shared/redis/lua-script.js';
import type { AlertsKeys } from './keys.js';

/** How many look-ups of an alert are kept (and shown at `$accesses`), as CP-IS shows the last 25. */
export const ACCESSES_KEPT = 25;

export type DeliveryState = 'pending' | 'acknowledged' | 'dead-letter' | 'withdrawn' | 'awaiting-pull';

/** One recipient's delivery of one message. */
export interface Delivery {
  readonly messageId: string;
  readonly agencyId: string;
  readonly state: DeliveryState;
  readonly attempts: number;
  /** The recipient agency's sequence number of this message (gaps show in its inbox). */
  readonly seq: number;
  readonly lastError?: string;
  /** When the next attempt is due (ISO), while retrying. */
  readonly nextAttemptAt?: string;
  readonly createdAt: string;
  readonly updatedAt: string;
}

/** What kind of message: an alert raised/updated/closed by an agency, or the hub's notice that an alert was looked up. */
export type MessageKind = 'alert' | 'access';

/** An accepted message as stored (hash fields; JSON where structured). */
export interface StoredMessage {
  readonly id: string;
  readonly kind: MessageKind;
  /** alert-raised | alert-updated | alert-closed | alert-accessed. */
  readonly event: string;
  /** The agency that sent it (for an access notification: the agency that looked the alert up). */
  readonly sender: string;
  /** The sender's MessageHeader.id (alerts only). */
  readonly headerId?: string;
  readonly flagId: string;
  /** The index Person the alert is about. */
  readonly personId: string;
  readonly alertCategory: string;
  /** The ISP data category the message travels as (always `alert`) and its purpose: what each attempt re-checks. */
  readonly category: string;
  readonly purpose: string;
  /** Recipient agency ids, in order. */
  readonly recipients: readonly string[];
  readonly acceptedAt: string;
  /** The request that sent it and who acted (job data `origin`). */
  readonly origin: { readonly requestId: string; readonly agent: ExchangeRecord['agent'] };
  /** The message as the hub holds it: MessageHeader, Flag (hub id), Patient, CareTeam, Provenance (services/alerts/domain/minimise.ts cuts it per recipient). */
  readonly bundle: unknown;
  /** The answer the sender got (a re-post gets it again). */
  readonly answer: unknown;
  /** The NP/LP details came from the directory, not from the sender. */
  readonly npLpFromDirectory: boolean;
}

/** An alert (Flag) as it stands after its latest message. */
export interface StoredFlag {
  readonly id: string;
  readonly sender: string;
  /** The sender's own id of it (Flag.id in their messages). */
  readonly localId: string;
  readonly status: 'active' | 'inactive';
  readonly personId: string;
  readonly alertCategory: string;
  readonly purpose: string;
  /** Who the raise went to: updates and the close go to the same agencies. */
  readonly recipients: readonly string[];
  readonly raisedBy: string;
  readonly lastMessage: string;
  readonly updatedAt: string;
  /** The Flag (hub id) as of the latest message. */
  readonly flag: unknown;
  /** The NP/LP CareTeam as of the latest message. */
  readonly careTeam: unknown;
  /** The agencies the NP/LP work for (where access notifications go). */
  readonly npLpAgencies: readonly string[];
}

/** One look-up of an alert (an access notification's content). */
export interface AccessRecord {
  readonly at: string;
  readonly agency: string;
  readonly practitionerRole?: string;
  readonly requestId: string;
  /** The access notification message sent to the NP/LP's agency. */
  readonly messageId?: string;
}

/** What to accept: a message, the Flag fields it sets, its recipients and its change record. */
export interface AcceptInput {
  readonly message: StoredMessage;
  /**
   * `raise`: the Flag must not exist yet. `follow-up`: it must exist, be active and
   * still have `message.recipients` as its recipients. `access`: it must exist; the
   * look-up is recorded in its accesses.
   */
  readonly mode: 'raise' | 'follow-up' | 'access';
  /** Follow-up: the Flag's recipients as read before accepting (the script refuses with `stale` if they changed). */
  readonly expectedRecipients?: readonly string[];
  /** Flag fields to set (none for an access notification). */
  readonly flag?: StoredFlag;
  readonly access?: AccessRecord;
  readonly changeRecord: ExchangeRecord;
}

export type AcceptResult =
  | { readonly kind: 'accepted'; readonly sequences: ReadonlyMap<string, number> }
  /** The same message was accepted before: its answer, as given then. */
  | { readonly kind: 'repeat'; readonly answer: unknown }
  | { readonly kind: 'flag-exists'; readonly raisedBy: string }
  | { readonly kind: 'no-flag' }
  | { readonly kind: 'flag-closed' }
  /** The Flag changed between reading it and accepting (its recipients): read again. */
  | { readonly kind: 'stale' };

// KEYS: 1 message hash, 2 flag hash, 3 person's flags set, 4 flag's accesses list, 5 sequences hash,
//       6 unqueued set, 7 audit outbox, then per recipient: its delivery hash, its inbox sorted set
// ARGV: 1 message id, 2 mode, 3 expected recipients JSON (follow-up), 4 now (ISO), 5 number of message
//       field/values, 6 number of flag field/values, 7 access record JSON ('' none), 8 flag id, 9 accesses kept,
//       then message field/values, flag field/values, recipient agency ids, the change record's field/values
const ACCEPT_LUA = new LuaScript(`
local id = ARGV[1]
if redis.call('EXISTS', KEYS[1]) == 1 then return {'repeat', redis.call('HGET', KEYS[1], 'answer') or ''} end
local mode = ARGV[2]
local status = redis.call('HGET', KEYS[2], 'status')
if mode == 'raise' then
  if status then return {'flag-exists', redis.call('HGET', KEYS[2], 'raisedBy') or ''} end
else
  if not status then return {'no-flag', ''} end
  if mode == 'follow-up' then
    if status ~= 'active' then return {'flag-closed', ''} end
    if redis.call('HGET', KEYS[2], 'recipients') ~= ARGV[3] then return {'stale', ''} end
  end
end
local now = ARGV[4]
local nMessage = tonumber(ARGV[5])
local nFlag = tonumber(ARGV[6])
local first = 10
local recipientsAt = first + nMessage + nFlag
local n = (#KEYS - 7) / 2
local result = {'accepted'}
for i = 1, n do
  local agency = ARGV[recipientsAt + i - 1]
  local seq = redis.call('HINCRBY', KEYS[5], agency, 1)
  redis.call('HSET', KEYS[7 + 2 * i - 1], 'messageId', id, 'agency', agency, 'state', 'pending', 'attempts', 0, 'seq', seq, 'createdAt', now, 'updatedAt', now)
  redis.call('ZADD', KEYS[7 + 2 * i], seq, id)
  redis.call('SADD', KEYS[6], id .. '~' .. agency)
  result[#result + 1] = agency
  result[#result + 1] = tostring(seq)
end
redis.call('HSET', KEYS[1], unpack(ARGV, first, first + nMessage - 1))
if nFlag > 0 then redis.call('HSET', KEYS[2], unpack(ARGV, first + nMessage, first + nMessage + nFlag - 1)) end
if mode == 'raise' then redis.call('SADD', KEYS[3], ARGV[8]) end
if ARGV[7] ~= '' then
  redis.call('LPUSH', KEYS[4], ARGV[7])
  redis.call('LTRIM', KEYS[4], 0, tonumber(ARGV[9]) - 1)
end
redis.call('XADD', KEYS[7], '*', unpack(ARGV, recipientsAt + n, #ARGV))
return result
`);

const json = (value: unknown) => JSON.stringify(value);

export class AlertStore {
  constructor(
    private readonly redis: Redis,
    readonly keys: AlertsKeys,
  ) {}

  /** Accepts a message atomically (see ACCEPT_LUA); nothing is written unless the result is `accepted`. */
  async accept(input: AcceptInput): Promise<AcceptResult> {
    const { message, flag } = input;
    const messageFields = flattenFields({
      id: message.id,
      kind: message.kind,
      event: message.event,
      sender: message.sender,
      headerId: message.headerId ?? '',
      flagId: message.flagId,
      personId: message.personId,
      alertCategory: message.alertCategory,
      category: message.category,
      purpose: message.purpose,
      recipients: json(message.recipients),
      acceptedAt: message.acceptedAt,
      origin: json(message.origin),
      bundle: json(message.bundle),
      answer: json(message.answer),
      npLpFromDirectory: message.npLpFromDirectory ? '1' : '0',
    });
    const flagFields = flag ? flattenFields(flagHashOf(flag)) : [];
    const recipients = message.recipients;
    const keys = [
      this.keys.message(message.id),
      this.keys.flag(message.flagId),
      this.keys.personFlags(message.personId),
      this.keys.accesses(message.flagId),
      this.keys.sequences,
      this.keys.unqueued,
      this.keys.outbox,
      ...recipients.flatMap((agency) => [this.keys.delivery(message.id, agency), this.keys.inbox(agency)]),
    ];
    const args = [
      message.id,
      input.mode,
      json(input.expectedRecipients ?? recipients),
      message.acceptedAt,
      messageFields.length,
      flagFields.length,
      input.access ? json(input.access) : '',
      message.flagId,
      ACCESSES_KEPT,
      ...messageFields,
      ...flagFields,
      ...recipients,
      ...outboxEntryArgs(input.changeRecord),
    ];
    const reply = (await ACCEPT_LUA.run(this.redis, keys, args)) as string[];
    const [kind, ...rest] = reply;
    switch (kind) {
      case 'accepted': {
        const sequences = new Map<string, number>();
        for (let i = 0; i + 1 < rest.length; i += 2) sequences.set(rest[i]!, Number(rest[i + 1]));
        return { kind, sequences };
      }
      case 'repeat':
        return { kind, answer: JSON.parse(rest[0] || 'null') as unknown };
      case 'flag-exists':
        return { kind, raisedBy: rest[0] ?? '' };
      case 'no-flag':
      case 'flag-closed':
      case 'stale':
        return { kind };
      default:
        throw new Error(`Unexpected answer from the accept script: ${String(kind)}`);
    }
  }

  /** A message, or undefined. */
  async message(messageId: string): Promise<StoredMessage | undefined> {
    const h = await this.redis.hgetall(this.keys.message(messageId));
    return h.id ? messageOf(h) : undefined;
  }

  /** The answer a message got when it was accepted, or undefined when there is no such message (the cheap repeat check). */
  async answerOf(messageId: string): Promise<unknown> {
    const answer = await this.redis.hget(this.keys.message(messageId), 'answer');
    return answer === null ? undefined : (JSON.parse(answer) as unknown);
  }

  /** An alert as it stands, or undefined. */
  async flag(flagId: string): Promise<StoredFlag | undefined> {
    const h = await this.redis.hgetall(this.keys.flag(flagId));
    return h.id ? flagOf(h) : undefined;
  }

  /** The alerts about an index Person. */
  async flagsOfPerson(personId: string): Promise<StoredFlag[]> {
    const ids = (await this.redis.smembers(this.keys.personFlags(personId))).sort();
    const flags = await Promise.all(ids.map((id) => this.flag(id)));
    return flags.filter((f): f is StoredFlag => f !== undefined);
  }

  /** The latest look-ups of an alert, newest first (at most ACCESSES_KEPT). */
  async accessesOf(flagId: string): Promise<AccessRecord[]> {
    const rows = await this.redis.lrange(this.keys.accesses(flagId), 0, ACCESSES_KEPT - 1);
    return rows.map((r) => JSON.parse(r) as AccessRecord);
  }

  /** One recipient's delivery, or undefined. */
  async delivery(messageId: string, agencyId: string): Promise<Delivery | undefined> {
    const h = await this.redis.hgetall(this.keys.delivery(messageId, agencyId));
    return h.messageId ? deliveryOf(h) : undefined;
  }

  /** The deliveries of a message to these agencies (its recipients), in order; missing ones left out. */
  async deliveries(messageId: string, agencyIds: readonly string[]): Promise<Delivery[]> {
    const pipeline = this.redis.pipeline();
    for (const agency of agencyIds) pipeline.hgetall(this.keys.delivery(messageId, agency));
    const rows = (await pipeline.exec()) ?? [];
    return rows.flatMap(([err, h]) => {
      if (err) throw err;
      const hash = h as Record<string, string>;
      return hash.messageId ? [deliveryOf(hash)] : [];
    });
  }

  /** Job ids (`<messageId>~<agencyId>`) of accepted deliveries whose job is not confirmed yet (up to `count`). */
  async unqueued(count = 500): Promise<string[]> {
    const [, members] = await this.redis.sscan(this.keys.unqueued, '0', 'COUNT', count);
    return members;
  }

  /**
   * Marks an existing delivery acknowledged by its recipient (read it first: this does not check it exists).
   * Minimal: the delivery engineer's acknowledgement replaces it with one that commits its change record.
   */
  async markAcknowledged(messageId: string, agencyId: string, at: string): Promise<void> {
    await this.redis.hset(this.keys.delivery(messageId, agencyId), 'state', 'acknowledged', 'updatedAt', at);
  }

  /** The jobs of these deliveries are in the queue now. */
  async markQueued(jobIds: readonly string[]): Promise<void> {
    if (jobIds.length > 0) await this.redis.srem(this.keys.unqueued, ...jobIds);
  }
}

function flagHashOf(flag: StoredFlag): Record<string, string> {
  return {
    id: flag.id,
    sender: flag.sender,
    localId: flag.localId,
    status: flag.status,
    personId: flag.personId,
    alertCategory: flag.alertCategory,
    purpose: flag.purpose,
    recipients: json(flag.recipients),
    raisedBy: flag.raisedBy,
    lastMessage: flag.lastMessage,
    updatedAt: flag.updatedAt,
    flag: json(flag.flag),
    careTeam: json(flag.careTeam),
    npLpAgencies: json(flag.npLpAgencies),
  };
}

function flattenFields(fields: Record<string, string>): string[] {
  return Object.entries(fields).flat();
}

function messageOf(h: Record<string, string>): StoredMessage {
  return {
    id: h.id!,
    kind: h.kind as MessageKind,
    event: h.event ?? '',
    sender: h.sender ?? '',
    ...(h.headerId ? { headerId: h.headerId } : {}),
    flagId: h.flagId ?? '',
    personId: h.personId ?? '',
    alertCategory: h.alertCategory ?? '',
    category: h.category ?? '',
    purpose: h.purpose ?? '',
    recipients: JSON.parse(h.recipients ?? '[]') as string[],
    acceptedAt: h.acceptedAt ?? '',
    origin: JSON.parse(h.origin ?? '{}') as StoredMessage['origin'],
    bundle: JSON.parse(h.bundle ?? 'null') as unknown,
    answer: JSON.parse(h.answer ?? 'null') as unknown,
    npLpFromDirectory: h.npLpFromDirectory === '1',
  };
}

function flagOf(h: Record<string, string>): StoredFlag {
  return {
    id: h.id!,
    sender: h.sender ?? '',
    localId: h.localId ?? '',
    status: h.status === 'active' ? 'active' : 'inactive',
    personId: h.personId ?? '',
    alertCategory: h.alertCategory ?? '',
    purpose: h.purpose ?? '',
    recipients: JSON.parse(h.recipients ?? '[]') as string[],
    raisedBy: h.raisedBy ?? '',
    lastMessage: h.lastMessage ?? '',
    updatedAt: h.updatedAt ?? '',
    flag: JSON.parse(h.flag ?? 'null') as unknown,
    careTeam: JSON.parse(h.careTeam ?? 'null') as unknown,
    npLpAgencies: JSON.parse(h.npLpAgencies ?? '[]') as string[],
  };
}

function deliveryOf(h: Record<string, string>): Delivery {
  return {
    messageId: h.messageId!,
    agencyId: h.agency ?? '',
    state: (h.state ?? 'pending') as DeliveryState,
    attempts: Number(h.attempts ?? 0),
    seq: Number(h.seq ?? 0),
    ...(h.lastError ? { lastError: h.lastError } : {}),
    ...(h.nextAttemptAt ? { nextAttemptAt: h.nextAttemptAt } : {}),
    createdAt: h.createdAt ?? '',
    updatedAt: h.updatedAt ?? '',
  };
}
