/**
 * The store's Lua scripts. Every key a script touches arrives in KEYS (all under
 * one `{fhir:<Type>}` hash tag, see keys.ts), so they run unchanged on Redis Cluster.
 *
 * The manifest (`man` hash, one field per id) is what lets one script replace a
 * version without a prior read from the client: it records the current
 * versionId, whether the resource is deleted, the content hash (for idempotent
 * upserts) and the index entries that version wrote, so the script can remove
 * exactly those. Format: `<versionId>\n<0|1 deleted>\n<hash>\n` followed by one
 * `<index>\t<score>\t<member>\n` line per entry (index names and members never
 * contain tabs or newlines: control characters are stripped from values).
 * The manifest's field `#rev` (never a FHIR id: `#` is not allowed in ids) counts
 * every write of the type.
 */
import { LuaScript } from '../redis/lua-script.js';

/**
 * Create / update / upsert / delete one resource.
 *
 * KEYS: cur, hist, man, live, the type's audit outbox, proj, then one key per
 *       index (named in ARGV after the change record).
 * ARGV: 1 id, 2 op (create|update|upsert|delete), 3 the precondition, or '' for none: `<If-Match>!<If-None-Match>`
 *       (the `!` part only when If-None-Match is given), each part '' (none), '*' (the resource exists) or
 *       `,<versionId>,<versionId>,` (its version is one of these; shared/store/version.ts `preconditionArg`),
 *       4 '1' when an update may create, 5 content hash, 6 JSON head, 7 JSON tail
 *       (the stored JSON is head .. newVersionId .. tail), 8 the new index-entry
 *       lines, 9 '1' when the type keeps a projection (`proj`, search-params.ts
 *       `projection`: set with the new version, removed by a delete), 10 the new
 *       version's projection, 11 the type's revision (`#rev`) the write expects,
 *       or '' for any: a conditional create writes only if nothing of the type
 *       was written since its search, 12 n = number of change-record field/values
 *       (0: none), 13..12+n the change record (appended to the outbox only when
 *       the write happens, so the change and its audit record commit together —
 *       shared/audit/outbox.ts), then the index names in KEYS order.
 * Returns {status, versionId, existedBefore ('1'|'0'), currentJson?}; status is
 * ok | unchanged | conflict | stale (If-Match does not hold) | exists (If-None-Match holds) | missing | deleted |
 * changed (the revision moved).
 */
export const WRITE_LUA = `
local id, op, ifMatch, mayCreate, hash, head, tail, entries = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6], ARGV[7], ARGV[8]
local projected, projection, expectedRevision = ARGV[9] == '1', ARGV[10], ARGV[11]
local recordLength = tonumber(ARGV[12])
local firstIndex = 13 + recordLength
local keyOf = {}
for i = firstIndex, #ARGV do keyOf[ARGV[i]] = KEYS[i - firstIndex + 7] end
if expectedRevision ~= '' and (redis.call('HGET', KEYS[3], '#rev') or '0') ~= expectedRevision then return {'changed', '0', '0'} end

local version, deleted, oldHash, oldEntries = 0, false, '', ''
local man = redis.call('HGET', KEYS[3], id)
if man then
  local a = string.find(man, '\\n', 1, true)
  local b = string.find(man, '\\n', a + 1, true)
  local c = string.find(man, '\\n', b + 1, true)
  version = tonumber(string.sub(man, 1, a - 1))
  deleted = string.sub(man, a + 1, b - 1) == '1'
  oldHash = string.sub(man, b + 1, c - 1)
  oldEntries = string.sub(man, c + 1)
end
local live = man ~= false and not deleted
local existed = live and '1' or '0'

if op == 'create' and live then return {'conflict', tostring(version), existed} end
if ifMatch ~= '' then
  local must, mustNot = ifMatch, ''
  local bang = string.find(ifMatch, '!', 1, true)
  if bang then must, mustNot = string.sub(ifMatch, 1, bang - 1), string.sub(ifMatch, bang + 1) end
  local listed = man and function(list) return string.find(list, ',' .. tostring(version) .. ',', 1, true) ~= nil end
  if must == '*' and not live then return {'stale', tostring(version), existed} end
  if must ~= '' and must ~= '*' and not (listed and listed(must)) then return {'stale', tostring(version), existed} end
  if mustNot == '*' and live then return {'exists', tostring(version), existed} end
  if mustNot ~= '' and mustNot ~= '*' and live and listed(mustNot) then return {'exists', tostring(version), existed} end
end
if op == 'update' and mayCreate ~= '1' and not live then return {man and 'deleted' or 'missing', tostring(version), existed} end
if op == 'delete' then
  if not man then return {'missing', '0', existed} end
  if deleted then return {'unchanged', tostring(version), existed} end
end
if op == 'upsert' and live and oldHash == hash then
  return {'unchanged', tostring(version), existed, redis.call('HGET', KEYS[1], id)}
end

local function eachEntry(text, fn)
  local pos = 1
  while pos <= #text do
    local nl = string.find(text, '\\n', pos, true)
    local line = string.sub(text, pos, nl - 1)
    local t1 = string.find(line, '\\t', 1, true)
    local t2 = string.find(line, '\\t', t1 + 1, true)
    fn(string.sub(line, 1, t1 - 1), string.sub(line, t1 + 1, t2 - 1), string.sub(line, t2 + 1))
    pos = nl + 1
  end
end

if man then
  local old = redis.call('HGET', KEYS[1], id)
  if old then redis.call('HSET', KEYS[2], id .. '/' .. version, old) end
  -- An index no longer declared is not in KEYS; its stale entries are left behind, never read.
  eachEntry(oldEntries, function(index, score, member)
    local key = keyOf[index]
    if key then redis.call('ZREM', key, member) end
  end)
end

local newVersion = tostring(version + 1)
redis.call('HSET', KEYS[1], id, head .. newVersion .. tail)
eachEntry(entries, function(index, score, member)
  redis.call('ZADD', keyOf[index], score, member)
end)
-- The type's revision: readers that cache a whole type (the ISP registry) check it in one HGET.
redis.call('HINCRBY', KEYS[3], '#rev', 1)
if op == 'delete' then
  redis.call('ZREM', KEYS[4], id)
  redis.call('HSET', KEYS[3], id, newVersion .. '\\n1\\n\\n')
  if projected then redis.call('HDEL', KEYS[6], id) end
else
  redis.call('ZADD', KEYS[4], 0, id)
  redis.call('HSET', KEYS[3], id, newVersion .. '\\n0\\n' .. hash .. '\\n' .. entries)
  if projected then redis.call('HSET', KEYS[6], id, projection) end
end
if recordLength > 0 then redis.call('XADD', KEYS[5], '*', unpack(ARGV, 13, 12 + recordLength)) end
return {'ok', newVersion, existed}
`;

/**
 * Every version of one resource, newest first, read atomically.
 * KEYS: cur, hist, man. ARGV: id. Returns a list of JSON strings (empty when unknown).
 */
export const HISTORY_LUA = `
local man = redis.call('HGET', KEYS[3], ARGV[1])
if not man then return {} end
local version = tonumber(string.sub(man, 1, string.find(man, '\\n', 1, true) - 1))
local out = {redis.call('HGET', KEYS[1], ARGV[1])}
for v = version - 1, 1, -1 do
  out[#out + 1] = redis.call('HGET', KEYS[2], ARGV[1] .. '/' .. v) or ''
end
return out
`;

/**
 * The values one lexical index range names, read with the index in one round trip (a search by one
 * exact value: a person's Consents on every plans read). Every key is the type's, in one hash slot.
 * KEYS: index, a hash by id (cur: the current JSONs; proj: the projections), and optionally a second
 * hash to fall back on (cur, for a projection not written yet). ARGV: min, max (ZRANGEBYLEX bounds).
 * Returns, in index order, each member's value in the first hash (false where it has none) — and with a
 * fallback, two values per member: that, then false or (where the first had none) the fallback's value.
 * Members end in `<separator><id>` (keys.ts).
 */
export const INDEXED_LUA = `
local members = redis.call('ZRANGEBYLEX', KEYS[1], ARGV[1], ARGV[2])
local out = {}
for start = 1, #members, 1000 do
  local ids = {}
  for i = start, math.min(start + 999, #members) do ids[#ids + 1] = string.match(members[i], '[^\\31]*$') end
  local values = redis.call('HMGET', KEYS[2], unpack(ids))
  for i = 1, #ids do
    local value = values[i]
    out[#out + 1] = value
    if KEYS[3] then
      if value then out[#out + 1] = false else out[#out + 1] = redis.call('HGET', KEYS[3], ids[i]) end
    end
  end
end
return out
`;

export const writeScript = new LuaScript(WRITE_LUA);
export const indexedScript = new LuaScript(INDEXED_LUA);
export const historyScript = new LuaScript(HISTORY_LUA);
