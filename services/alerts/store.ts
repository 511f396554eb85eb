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
import { WRITTEN_ENTRY_FIELDS } from '../../shared/audit/audit-entry.js';
import { outboxEntryArgs } from '../../shared/audit/outbox.js';
import { LuaScript } from '../../shared/redis/lua-script.js';
import { parseKeepingSpellings, stringifyKeepingSpellings } from '../../shared/fhir/number-spelling.js';
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
  /** Start of the retry window (ISO): acceptance, or the latest re-drive. */
  readonly windowStart?: string;
  readonly acknowledgedAt?: string;
  /** When it became a dead letter (ISO); the reason is `lastError`. */
  readonly deadAt?: string;
  /** How many times its sender re-drove it. */
  readonly redrives?: number;
}

/**
 * What kind of message: an alert raised/updated/closed by an agency, the hub's notice that an alert was looked
 * up, or the hub's report to a sender that one of its deliveries became a dead letter (dead-letter-reports.ts).
 */
export type MessageKind = 'alert' | 'access' | 'report';

/** An accepted message as stored (hash fields; JSON where structured). */
export interface StoredMessage {
  readonly id: string;
  readonly kind: MessageKind;
  /** alert-raised | alert-updated | alert-closed | alert-accessed. */
  readonly event: string;
  /**
   * The agency that sent it (for an access notification: the agency that looked the alert up; for a dead-letter
   * report: the agency whose message died, which is also its one recipient). Its dead letters are filed under it.
   */
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
  /** The NP/LP details came from the directory, not from the sender. */
  readonly npLpFromDirectory: boolean;
}

/**
 * A message to accept: as stored, with the answer the sender got. The answer is kept for a re-post of the
 * message (`answerOf`, the accept script's `repeat`) and is not read back with the message: nothing that
 * reads a message — a delivery attempt above all, once per message per delivery process — uses it.
 */
export interface AcceptedMessage extends StoredMessage {
  readonly answer: unknown;
}

/** The fields `AlertStore.message` reads (every field of the message's hash but the answer). */
const MESSAGE_FIELDS = ['id', 'kind', 'event', 'sender', 'headerId', 'flagId', 'personId', 'alertCategory', 'category', 'purpose', 'recipients', 'acceptedAt', 'origin', 'bundle', 'npLpFromDirectory'] as const;

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
  readonly message: AcceptedMessage;
  /**
   * `raise`: the Flag must not exist yet. `follow-up`: it must exist, be active and
   * still have `message.recipients` as its recipients. `access`: it must exist; the
   * look-up is recorded in its accesses. `report`: a dead-letter report relayed by another
   * partnership's hub (operations/relayed-report.ts): no Flag condition, no Flag change.
   */
  readonly mode: 'raise' | 'follow-up' | 'access' | 'report';
  /** Follow-up: the Flag's recipients as read before accepting (the script refuses with `stale` if they changed). */
  readonly expectedRecipients?: readonly string[];
  /** Flag fields to set (none for an access notification). */
  readonly flag?: StoredFlag;
  readonly access?: AccessRecord;
  readonly changeRecord: ExchangeRecord;
  /**
   * The accepting request's own audit record, as it reads when the message is accepted
   * (shared/fhir/exchange-context.ts `exchangeRecordOf`): committed with the acceptance, in the outbox beside the
   * change record, only if the message is accepted — the answer then needs no audit write of its own.
   */
  readonly exchangeRecord?: ExchangeRecord;
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
//       10 field/values per outbox entry, then message field/values, flag field/values, recipient agency ids, the
//       outbox entries' field/values (the change record, then the request's own record when it is given)
const ACCEPT_LUA = new LuaScript(`
local id = ARGV[1]
if redis.call('EXISTS', KEYS[1]) == 1 then return {'repeat', redis.call('HGET', KEYS[1], 'answer') or ''} end
local mode = ARGV[2]
local status = redis.call('HGET', KEYS[2], 'status')
if mode == 'raise' then
  if status then return {'flag-exists', redis.call('HGET', KEYS[2], 'raisedBy') or ''} end
elseif mode ~= 'report' then
  if not status then return {'no-flag', ''} end
  if mode == 'follow-up' then
    if status ~= 'active' then return {'flag-closed', ''} end
    if redis.call('HGET', KEYS[2], 'recipients') ~= ARGV[3] then return {'stale', ''} end
  end
end
local now = ARGV[4]
local nMessage = tonumber(ARGV[5])
local nFlag = tonumber(ARGV[6])
local first = 11
local recipientsAt = first + nMessage + nFlag
local n = (#KEYS - 7) / 2
local result = {'accepted'}
local markers = {}
-- Numbers are handed to redis.call as text: Redis formats each Lua number argument with snprintf (%.17g), which
-- was a tenth of this script's instructions; the sequence number is formatted once. One SADD for the markers.
for i = 1, n do
  local agency = ARGV[recipientsAt + i - 1]
  local seq = tostring(redis.call('HINCRBY', KEYS[5], agency, '1'))
  redis.call('HSET', KEYS[7 + 2 * i - 1], 'messageId', id, 'agency', agency, 'state', 'pending', 'attempts', '0', 'seq', seq, 'createdAt', now, 'updatedAt', now)
  redis.call('ZADD', KEYS[7 + 2 * i], seq, id)
  markers[i] = id .. '~' .. agency
  result[#result + 1] = agency
  result[#result + 1] = seq
end
if n > 0 then redis.call('SADD', KEYS[6], unpack(markers)) end
redis.call('HSET', KEYS[1], unpack(ARGV, first, first + nMessage - 1))
if nFlag > 0 then redis.call('HSET', KEYS[2], unpack(ARGV, first + nMessage, first + nMessage + nFlag - 1)) end
if mode == 'raise' then redis.call('SADD', KEYS[3], ARGV[8]) end
if ARGV[7] ~= '' then
  redis.call('LPUSH', KEYS[4], ARGV[7])
  redis.call('LTRIM', KEYS[4], 0, tonumber(ARGV[9]) - 1)
end
local width = tonumber(ARGV[10])
for at = recipientsAt + n, #ARGV, width do redis.call('XADD', KEYS[7], '*', unpack(ARGV, at, at + width - 1)) end
return result
`);

/** One move of a delivery's state (`AlertStore.stepDelivery`). */
export interface DeliveryStep {
  /** The states the delivery may be in for the move to happen; otherwise nothing changes (`moved`). */
  readonly from: readonly DeliveryState[];
  readonly to: DeliveryState;
  readonly at: Date;
  /** The message's sender: a dead letter is filed under the sender's dead letters. */
  readonly sender: string;
  /** The move follows a call to the agency's endpoint: count the attempt. */
  readonly countAttempt?: boolean;
  /** Why the last attempt failed (kept while retrying, the reason of a dead letter or withdrawal); cleared when absent. */
  readonly lastError?: string;
  /** When the next attempt is due, while retrying; cleared when absent. */
  readonly nextAttemptAt?: Date;
  /** A re-drive: back in `unqueued` until its new job is confirmed, with a new retry window from `at`. */
  readonly redrive?: boolean;
  /** An acknowledgement's response message id: refused (`replayed`) if it already acknowledged another delivery. */
  readonly responseId?: string;
  /**
   * The attempt that claimed the delivery (`claimDelivery`): the move happens only while it still holds
   * the claim (`lease-lost` otherwise). Every applied move ends the claim.
   */
  readonly leaseHolder?: string;
  /**
   * A move to `dead-letter` only: the report of it to the message's sender (kind `report`, its one recipient the
   * sender), accepted by the same script as the move — its message, its delivery (pending, the sender's next
   * sequence number), its inbox entry and its `unqueued` marker — only if the move applies, and once: a report
   * already stored under its id is not written again.
   */
  readonly report?: AcceptedMessage;
  /** The change record, committed with the move. */
  readonly record: ExchangeRecord;
  /**
   * More records committed with the move, only if it applies: the attempt's own
   * exchange record, so a delivery's usual attempt costs one write (see workers/deliveries.ts).
   */
  readonly withRecords?: readonly ExchangeRecord[];
  /**
   * Records committed whether or not the move applies: what happened anyway —
   * the call made to the agency's endpoint (BALP transmit, shared/audit/outbound.ts).
   */
  readonly happenedRecords?: readonly ExchangeRecord[];
}

export type StepResult =
  | { readonly kind: 'applied'; readonly from: DeliveryState }
  /** The delivery was not in a `from` state: nothing changed. */
  | { readonly kind: 'moved'; readonly state: DeliveryState }
  /** The response message id acknowledged another delivery (`<messageId>~<agencyId>`) before: nothing changed. */
  | { readonly kind: 'replayed'; readonly delivery: string }
  /** Another attempt claimed the delivery since this one did (its claim lapsed): nothing changed. */
  | { readonly kind: 'lease-lost' }
  | { readonly kind: 'missing' };

/** What claiming a delivery for an attempt found (`AlertStore.claimDelivery`). */
export type ClaimResult =
  /** Pending and now this attempt's until the claim lapses. */
  | { readonly kind: 'claimed'; readonly delivery: Delivery }
  /** No longer pending: nothing to claim. */
  | { readonly kind: 'settled'; readonly delivery: Delivery }
  /** Pending, but another attempt holds it until `untilMs` (epoch ms). */
  | { readonly kind: 'leased'; readonly untilMs: number }
  | { readonly kind: 'missing' };

/** One attempt's claim on one delivery (`AlertStore.claimDeliveries`). */
export interface DeliveryClaim {
  readonly messageId: string;
  readonly agencyId: string;
  /** The attempt (unique per run of a job). */
  readonly holder: string;
}

/** One delivery's move (`AlertStore.stepDeliveries`). */
export interface DeliveryStepOf {
  readonly messageId: string;
  readonly agencyId: string;
  readonly step: DeliveryStep;
}

/** A delivery that will not be retried any more until its sender re-drives it. */
export interface DeadLetter {
  readonly messageId: string;
  readonly agencyId: string;
  readonly deadAt: string;
}

// Claims pending deliveries, each for one attempt until a time (the lease), unless another attempt's claim
// on it still runs; answers each delivery hash as it was. A claim is what lets an attempt call the agency:
// two runs of one job (a job whose lock lapsed while its first run was still calling) never both deliver.
// Many attempts' claims go in one call (the attempts that start together), each decided on its own.
// KEYS: the delivery hashes. ARGV: 1 now (ms), 2 lease length (ms), then each attempt's holder id (in KEYS order)
// Returns per delivery {'missing'} | {'settled', hash} | {'leased', untilMs} | {'claimed', hash}
const CLAIM_LUA = new LuaScript(`
local now = tonumber(ARGV[1])
local lease = tonumber(ARGV[2])
local results = {}
for k = 1, #KEYS do
  local h = redis.call('HGETALL', KEYS[k])
  if #h == 0 then
    results[k] = {'missing'}
  else
    local state, holder, untilMs
    for i = 1, #h, 2 do
      if h[i] == 'state' then state = h[i + 1]
      elseif h[i] == 'leaseHolder' then holder = h[i + 1]
      elseif h[i] == 'leaseUntil' then untilMs = tonumber(h[i + 1]) end
    end
    if state ~= 'pending' then
      results[k] = {'settled', h}
    elseif holder and holder ~= ARGV[2 + k] and untilMs and untilMs > now then
      results[k] = {'leased', tostring(untilMs)}
    else
      redis.call('HSET', KEYS[k], 'leaseHolder', ARGV[2 + k], 'leaseUntil', now + lease)
      results[k] = {'claimed', h}
    end
  end
end
return results
`);

// Ends an attempt's claim without a move (it called nobody and will be retried). KEYS: 1 delivery hash. ARGV: 1 holder
const RELEASE_LUA = new LuaScript(`
if redis.call('HGET', KEYS[1], 'leaseHolder') == ARGV[1] then redis.call('HDEL', KEYS[1], 'leaseHolder', 'leaseUntil') end
return 1
`);

/** Values in one step's header in STEP_LUA's ARGV (before its records). */
const STEP_HEADER_WIDTH = 14;

// Moves deliveries on, each with its own records, each decided on its own exactly as if it were the only one (a
// batch answer settles many attempts at once: one call for all their moves and records instead of one each).
// KEYS: 1 unqueued set, 2 acknowledgements hash, 3 the delivery audit outbox, 4 sequences hash, then per step: its delivery hash,
//       the sender's dead letters (sorted set), and — a step carrying a dead-letter report only — the report's
//       message hash, its delivery hash and the sender's inbox (sorted set)
// ARGV: 1 values per record, then per step a header of STEP_HEADER_WIDTH values: allowed current states
//       (space-separated), new state, now (ISO), now (ms), attempts to add, last error ('' clears), next attempt at
//       ('' clears), `<messageId>~<agencyId>`, re-drive ('1'), response message id ('' none), number of records,
//       records committed whatever happens (the last ones), the claim's holder ('' any), number of report values
//       (0: no report); then that step's records' field/values: the change record, the records committed with the
//       move, those committed anyway; then its report: the report's message id, its recipient, its field/values
// A step made under a claim leaves `lastStep` = `<holder> <from state>` on the delivery: the same call run again
// (Redis ran it, then died before its answer got out, and the client re-sent it) answers `applied` as the first run
// did and writes nothing — otherwise it would read as `lease-lost`, and a retry's job would end with its delivery
// pending and no job left to retry it.
// Returns per step {'applied', from} | {'moved', state} | {'replayed', delivery} | {'lease-lost'} | {'missing'}
const STEP_LUA = new LuaScript(`
local width = tonumber(ARGV[1])
local results = {}
local at = 2
local kc = 5
while kc <= #KEYS do
  local dk = KEYS[kc]
  local deadKey = KEYS[kc + 1]
  local h = at
  local total = tonumber(ARGV[h + 10])
  local always = tonumber(ARGV[h + 11])
  local nReport = tonumber(ARGV[h + 13])
  local recordsAt = h + 14
  local reportAt = recordsAt + total * width
  at = reportAt + nReport
  local reportKeys = kc + 2
  if nReport > 0 then kc = kc + 5 else kc = kc + 2 end
  local function append(from, to)
    for r = from, to do
      local ra = recordsAt + (r - 1) * width
      redis.call('XADD', KEYS[3], '*', unpack(ARGV, ra, ra + width - 1))
    end
  end
  local member = ARGV[h + 7]
  local responseId = ARGV[h + 9]
  local state = redis.call('HGET', dk, 'state')
  local holder = ARGV[h + 12]
  local lastStep = holder ~= '' and redis.call('HGET', dk, 'lastStep')
  local result
  if not state then
    result = {'missing'}
  elseif lastStep and string.sub(lastStep, 1, #holder + 1) == holder .. ' ' then
    -- This attempt's move was applied already: the same call again (its answer was lost with a Redis crash and
    -- the client re-sent it). The same answer, nothing written twice.
    result = {'applied', string.sub(lastStep, #holder + 2)}
  elseif holder ~= '' and redis.call('HGET', dk, 'leaseHolder') ~= holder then
    append(total - always + 1, total)
    result = {'lease-lost'}
  else
    local seen = responseId ~= '' and redis.call('HGET', KEYS[2], responseId)
    if seen and seen ~= member then
      append(total - always + 1, total)
      result = {'replayed', seen}
    else
      local allowed = false
      for s in string.gmatch(ARGV[h], '%S+') do
        if s == state then allowed = true end
      end
      if not allowed then
        append(total - always + 1, total)
        result = {'moved', state}
      else
        local to = ARGV[h + 1]
        local nowIso = ARGV[h + 2]
        redis.call('HSET', dk, 'state', to, 'updatedAt', nowIso)
        if tonumber(ARGV[h + 4]) > 0 then redis.call('HINCRBY', dk, 'attempts', ARGV[h + 4]) end
        if ARGV[h + 5] == '' then redis.call('HDEL', dk, 'lastError') else redis.call('HSET', dk, 'lastError', ARGV[h + 5]) end
        if ARGV[h + 6] == '' then redis.call('HDEL', dk, 'nextAttemptAt') else redis.call('HSET', dk, 'nextAttemptAt', ARGV[h + 6]) end
        if to == 'dead-letter' then
          redis.call('ZADD', deadKey, ARGV[h + 3], member)
          redis.call('HSET', dk, 'deadAt', nowIso)
          -- The report to the sender, accepted as a message of its own with the dead letter (once per report id).
          if nReport > 0 and redis.call('EXISTS', KEYS[reportKeys]) == 0 then
            local reportId = ARGV[reportAt]
            local recipient = ARGV[reportAt + 1]
            redis.call('HSET', KEYS[reportKeys], unpack(ARGV, reportAt + 2, reportAt + nReport - 1))
            local seq = redis.call('HINCRBY', KEYS[4], recipient, 1)
            redis.call('HSET', KEYS[reportKeys + 1], 'messageId', reportId, 'agency', recipient, 'state', 'pending', 'attempts', 0, 'seq', seq, 'createdAt', nowIso, 'updatedAt', nowIso)
            redis.call('ZADD', KEYS[reportKeys + 2], seq, reportId)
            redis.call('SADD', KEYS[1], reportId .. '~' .. recipient)
          end
        else
          redis.call('ZREM', deadKey, member)
        end
        if to == 'acknowledged' then redis.call('HSET', dk, 'acknowledgedAt', nowIso) end
        if ARGV[h + 8] == '1' then
          redis.call('SADD', KEYS[1], member)
          redis.call('HSET', dk, 'windowStart', nowIso)
          redis.call('HINCRBY', dk, 'redrives', 1)
        end
        if responseId ~= '' then redis.call('HSET', KEYS[2], responseId, member) end
        redis.call('HDEL', dk, 'leaseHolder', 'leaseUntil')
        if holder ~= '' then redis.call('HSET', dk, 'lastStep', holder .. ' ' .. state) end
        append(1, total)
        result = {'applied', state}
      end
    end
  end
  results[#results + 1] = result
end
return results
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
    const messageFields = flattenFields(messageHashOf(message));
    const flagFields = flag ? flattenFields(flagHashOf(flag)) : [];
    const recipients = message.recipients;
    const changeEntry = outboxEntryArgs(input.changeRecord);
    const exchangeEntry = input.exchangeRecord ? outboxEntryArgs(input.exchangeRecord) : undefined;
    // Every entry in the one layout the hub writes (outboxEntryArgs): the script steps through them by its width.
    if (exchangeEntry && exchangeEntry.length !== changeEntry.length) throw new Error('The accept\'s outbox entries differ in layout');
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
      String(changeEntry.length),
      ...messageFields,
      ...flagFields,
      ...recipients,
      ...changeEntry,
      ...(exchangeEntry ?? []),
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

  /** A message (without the answer its sender got: `answerOf`), or undefined. */
  async message(messageId: string): Promise<StoredMessage | undefined> {
    const values = await this.redis.hmget(this.keys.message(messageId), ...MESSAGE_FIELDS);
    const h: Partial<Record<(typeof MESSAGE_FIELDS)[number], string>> = {};
    MESSAGE_FIELDS.forEach((field, i) => {
      const value = values[i];
      if (value !== null && value !== undefined) h[field] = value;
    });
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

  /**
   * Claims a pending delivery for one attempt (`holder`, unique per run of a job) for `leaseMs`: only the
   * claim's holder calls the agency and moves the delivery on (`DeliveryStep.leaseHolder`), so a job that
   * BullMQ runs a second time while its first run is still calling (its lock lapsed under load) waits for
   * the claim to end instead of delivering the message again. Reads the delivery in the same round trip.
   */
  async claimDelivery(messageId: string, agencyId: string, holder: string, nowMs: number, leaseMs: number): Promise<ClaimResult> {
    const [result] = await this.claimDeliveries([{ messageId, agencyId, holder }], nowMs, leaseMs);
    return result!;
  }

  /**
   * `claimDelivery` for many attempts in ONE script (the attempts a worker starts together): each delivery
   * is claimed, found settled, found claimed by another attempt or missing on its own. Results in order.
   */
  async claimDeliveries(claims: readonly DeliveryClaim[], nowMs: number, leaseMs: number): Promise<ClaimResult[]> {
    if (claims.length === 0) return [];
    const keys = claims.map((c) => this.keys.delivery(c.messageId, c.agencyId));
    const replies = (await CLAIM_LUA.run(this.redis, keys, [nowMs, Math.ceil(leaseMs), ...claims.map((c) => c.holder)])) as [string, string[] | string | undefined][];
    return replies.map(([kind, detail]): ClaimResult => {
      switch (kind) {
        case 'claimed':
        case 'settled':
          return { kind, delivery: deliveryOf(hashOf(detail as string[])) };
        case 'leased':
          return { kind, untilMs: Number(detail) };
        case 'missing':
          return { kind };
        default:
          throw new Error(`Unexpected answer from the claim script: ${kind}`);
      }
    });
  }

  /** Ends an attempt's claim on a delivery without moving it (the attempt called nobody). */
  async releaseDelivery(messageId: string, agencyId: string, holder: string): Promise<void> {
    await RELEASE_LUA.run(this.redis, [this.keys.delivery(messageId, agencyId)], [holder]);
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

  /** Every job id of accepted deliveries whose job is not confirmed yet (a short list: addBulk follows the accept at once). */
  async allUnqueued(): Promise<string[]> {
    return this.redis.smembers(this.keys.unqueued);
  }

  /** The jobs of these deliveries are in the queue now. */
  async markQueued(jobIds: readonly string[]): Promise<void> {
    if (jobIds.length > 0) await this.redis.srem(this.keys.unqueued, ...jobIds);
  }

  // --- Deliveries: attempts, acknowledgements, dead letters, re-drives, the inbox (the delivery side) ---

  /**
   * Moves one delivery from one of `step.from` to `step.to` with its change
   * record, in one script (see STEP_LUA): nothing moves unless the delivery is
   * still where the caller saw it, so a worker's late attempt never undoes an
   * acknowledgement that came in by pull meanwhile.
   */
  async stepDelivery(messageId: string, agencyId: string, step: DeliveryStep): Promise<StepResult> {
    const [result] = await this.stepDeliveries([{ messageId, agencyId, step }]);
    return result!;
  }

  /**
   * `stepDelivery` for many deliveries in ONE script (the attempts one batch answer settled): each move is
   * decided and committed with its own records exactly as alone — one that does not apply changes nothing
   * of the others. Results in order.
   */
  async stepDeliveries(steps: readonly DeliveryStepOf[]): Promise<StepResult[]> {
    if (steps.length === 0) return [];
    const keys = [this.keys.unqueued, this.keys.acknowledgements, this.keys.deliveryOutbox, this.keys.sequences];
    const args: (string | number)[] = [WRITTEN_ENTRY_FIELDS * 2];
    for (const { messageId, agencyId, step } of steps) {
      keys.push(this.keys.delivery(messageId, agencyId), this.keys.deadLetters(step.sender));
      const { report } = step;
      const reportValues = report ? [report.id, step.sender, ...flattenFields(messageHashOf(report))] : [];
      if (report) {
        if (report.recipients.length !== 1 || report.recipients[0] !== step.sender) throw new Error('A dead-letter report goes to the sender of the dead message, and to it alone');
        keys.push(this.keys.message(report.id), this.keys.delivery(report.id, step.sender), this.keys.inbox(step.sender));
      }
      const records = [step.record, ...(step.withRecords ?? []), ...(step.happenedRecords ?? [])];
      const header = [
        step.from.join(' '),
        step.to,
        step.at.toISOString(),
        step.at.getTime(),
        step.countAttempt ? 1 : 0,
        step.lastError ?? '',
        step.nextAttemptAt?.toISOString() ?? '',
        `${messageId}~${agencyId}`,
        step.redrive ? '1' : '0',
        step.responseId ?? '',
        records.length,
        step.happenedRecords?.length ?? 0,
        step.leaseHolder ?? '',
        reportValues.length,
      ];
      if (header.length !== STEP_HEADER_WIDTH) throw new Error('The delivery step header does not match the script');
      args.push(...header);
      for (const record of records) args.push(...outboxEntryArgs(record));
      args.push(...reportValues);
    }
    const replies = (await STEP_LUA.run(this.redis, keys, args)) as [string, string | undefined][];
    return replies.map(([kind, detail]): StepResult => {
      switch (kind) {
        case 'applied':
          return { kind, from: detail as DeliveryState };
        case 'moved':
          return { kind, state: detail as DeliveryState };
        case 'replayed':
          return { kind, delivery: detail ?? '' };
        case 'lease-lost':
        case 'missing':
          return { kind };
        default:
          throw new Error(`Unexpected answer from the delivery step script: ${kind}`);
      }
    });
  }

  /** A sender's dead letters, newest first: `{ messageId, agencyId, deadAt }` (one page). */
  async deadLettersOf(senderAgencyId: string, offset: number, count: number): Promise<{ total: number; letters: DeadLetter[] }> {
    const key = this.keys.deadLetters(senderAgencyId);
    const [total, rows] = await Promise.all([this.redis.zcard(key), this.redis.zrevrange(key, offset, offset + count - 1, 'WITHSCORES')]);
    const letters: DeadLetter[] = [];
    for (let i = 0; i + 1 < rows.length; i += 2) {
      const [messageId, agencyId] = rows[i]!.split('~');
      if (messageId && agencyId) letters.push({ messageId, agencyId, deadAt: new Date(Number(rows[i + 1])).toISOString() });
    }
    return { total, letters };
  }

  /** An agency's inbox after sequence number `after`: message ids with their sequence numbers, in order (at most `count`). */
  async inboxOf(agencyId: string, after: number, count: number): Promise<{ messageId: string; seq: number }[]> {
    const rows = await this.redis.zrangebyscore(this.keys.inbox(agencyId), `(${after}`, '+inf', 'WITHSCORES', 'LIMIT', 0, count);
    const entries: { messageId: string; seq: number }[] = [];
    for (let i = 0; i + 1 < rows.length; i += 2) entries.push({ messageId: rows[i]!, seq: Number(rows[i + 1]) });
    return entries;
  }

  /** The last sequence number given to an agency (0 before its first message). */
  async lastSequenceOf(agencyId: string): Promise<number> {
    return Number((await this.redis.hget(this.keys.sequences, agencyId)) ?? 0);
  }
}

/** A message's hash fields, as the accept script and a dead letter's report write them. */
function messageHashOf(message: AcceptedMessage): Record<string, string> {
  return {
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
    bundle: stringifyKeepingSpellings(message.bundle), // decimals as written (1.50): shared/fhir/number-spelling.ts
    answer: json(message.answer),
    npLpFromDirectory: message.npLpFromDirectory ? '1' : '0',
  };
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
    flag: stringifyKeepingSpellings(flag.flag),
    careTeam: stringifyKeepingSpellings(flag.careTeam),
    npLpAgencies: json(flag.npLpAgencies),
  };
}

/** A hash as HGETALL's flat field/value list gives it. */
function hashOf(pairs: readonly string[]): Record<string, string> {
  const hash: Record<string, string> = {};
  for (let i = 0; i + 1 < pairs.length; i += 2) hash[pairs[i]!] = pairs[i + 1]!;
  return hash;
}

function flattenFields(fields: Record<string, string>): string[] {
  return Object.entries(fields).flat();
}

function messageOf(h: Partial<Record<(typeof MESSAGE_FIELDS)[number], string>>): StoredMessage {
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
    bundle: parseKeepingSpellings(h.bundle ?? 'null'),
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
    flag: parseKeepingSpellings(h.flag ?? 'null'),
    careTeam: parseKeepingSpellings(h.careTeam ?? 'null'),
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
    ...(h.windowStart ? { windowStart: h.windowStart } : {}),
    ...(h.acknowledgedAt ? { acknowledgedAt: h.acknowledgedAt } : {}),
    ...(h.deadAt ? { deadAt: h.deadAt } : {}),
    ...(h.redrives ? { redrives: Number(h.redrives) } : {}),
  };
}
