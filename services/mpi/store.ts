/**
 * The MPI's Redis storage: agency records (FHIR Patients) with their versions,
 * match features, blocking sets, the record → Person links, manual decisions
 * and report counters. Reads batch into one round trip; writes for many
 * records go in one pipeline (never one awaited write after another).
 */
import type { Patient } from 'fhir/r4.js';
import type { Redis } from 'ioredis';
import type { PersonChi } from './domain/engine.js';
import { featuresFromJson, type MatchFeatures } from './domain/features.js';
import { isSearchBucket, isSearchRoot, termChanges } from './domain/search-terms.js';
import { pairKey, type Assurance, type LinkHow, type ManualDecision, type PersonLink } from './domain/links.js';
import { IndexLock, type IndexLockOptions } from './index-lock.js';
import type { MpiKeys } from './keys.js';
import { LuaScript } from '../../shared/redis/lua-script.js';
import { FIELD_SEPARATOR, packFields, UNPACK_LUA } from './packed-fields.js';
import { parseKeepingSpellings, stringifyKeepingSpellings } from '../../shared/fhir/number-spelling.js';

export type { IndexLockOptions } from './index-lock.js';

/** One record's write: the new version, its features and blocking keys, and the keys it leaves. */
export interface RecordWrite {
  readonly patient: Patient;
  /** The previous version to move into history (updates only). */
  readonly previous?: Patient;
  readonly features: MatchFeatures;
  readonly blockingKeys: readonly string[];
  readonly previousBlockingKeys: readonly string[];
  /**
   * The search terms of `patient` (domain/search-terms.ts recordTerms), when the caller
   * worked them out already (registration does, before it takes the index lock).
   */
  readonly terms?: readonly string[];
  /** `JSON.stringify(features)`, when the caller made it already (registration does, before it takes the index lock). */
  readonly featuresJson?: string;
  /** `JSON.stringify(patient)`, when the caller made it already (registration: from the submission's JSON, made before the lock). */
  readonly patientJson?: string;
}

/** A record relabelled in the Person it is in (`link.personId`), only if its link is still `expected`. */
export interface LinkRelabel {
  readonly link: LinkWrite;
  readonly expected: PersonLink;
}

export interface LinkWrite {
  readonly recordId: string;
  readonly personId: string;
  readonly assurance: Assurance;
  readonly how: LinkHow;
  /** The person the record leaves, if any (its member entry is removed). */
  readonly fromPersonId?: string;
}

// Moves a record between Persons only if its link is still what the caller read,
// so two concurrent re-matches cannot leave a record in two Persons.
// With a change record (a reviewer's move), the record commits with the move.
// KEYS: links hash, new person members, old person members (or the new one again), audit outbox
// ARGV: record id, expected current link value ('' if none), new link value, member value,
//       then the change record's field/values (none for moves a registration chunk records)
const MOVE_LINK_LUA = new LuaScript(`
local current = redis.call('HGET', KEYS[1], ARGV[1])
if (current or '') ~= ARGV[2] then return 0 end
if KEYS[3] ~= KEYS[2] then redis.call('HDEL', KEYS[3], ARGV[1]) end
redis.call('HSET', KEYS[2], ARGV[1], ARGV[4])
redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
if #ARGV > 4 then redis.call('XADD', KEYS[4], '*', unpack(ARGV, 5, #ARGV)) end
return 1
`);

// Relabels records within their Person (the record a registration linked through: registration.ts
// relabelJoined), each only if its link is still what the caller read — one call for a chunk's
// relabels instead of one move each (a first load relabels about a third of its records' candidates).
// Lua: `relabel(linksKey, personPrefix, R)`, R flat per record: record id, expected link value, new
// link value, member value; the record's Person member hash is named from its new link value's Person id
// (`personPrefix`: keys.ts `person('')`, in the `{mpi}` slot — see `personKey`).
// Returns how many were relabelled. Prepend to a script (RELABEL_LUA, WRITE_RECORDS_LUA).
const RELABEL_FUNCTION_LUA = `
-- The member hash of the Person a link value (\`<personId>|<assurance>|<how>\`) names.
local function personKey(personPrefix, link)
  return personPrefix .. string.sub(link, 1, string.find(link, '|', 1, true) - 1)
end
local function relabel(linksKey, personPrefix, R)
  local done = 0
  for k = 0, #R / 4 - 1 do
    local a = k * 4
    if redis.call('HGET', linksKey, R[a + 1]) == R[a + 2] then
      redis.call('HSET', personKey(personPrefix, R[a + 3]), R[a + 1], R[a + 4])
      redis.call('HSET', linksKey, R[a + 1], R[a + 3])
      done = done + 1
    end
  end
  return done
end
`;

// KEYS: links hash
// ARGV: the member hash key of a Person without its id (keys.ts \`person('')\`), the number of records, and packed per
// record: record id, expected link value, new link value, member value
const RELABEL_LUA = new LuaScript(`${UNPACK_LUA}${RELABEL_FUNCTION_LUA}
return relabel(KEYS[1], ARGV[1], packed(ARGV[3], tonumber(ARGV[2]) * 4))
`);

// Blocking index: ONE hash, field = blocking key, value = `<id>,<id>,…`.
// A set per key cost ~370 bytes per key on Redis 7.0 (a small set of strings is a
// hashtable there; listpack sets come only in 7.2) and there are ~3 keys per record:
// over 1 KB per record. A hash field costs ~120-150. A string key per blocking key,
// appended in place, would spare the chunk's read-rebuild-write of its lists but costs
// +213 B per record at 100k (a key's own overhead, and APPEND's buffer doubling): over
// the memory target. Until session 23 each list began with its count (`<count>:`): a chunk
// rebuilt the count of every list it added to (~4,500 per chunk of a load) for the read's
// size check only; the read now works the size out, from the length first (see BLOCKS_LUA).

// Lua: `legacyIds(v)`, the ids of a list as the index stored it before session 23 (`<count>:<ids>`).
const LEGACY_IDS_LUA = `
local function legacyIds(v)
  return string.sub(v, string.find(v, ':', 1, true) + 1)
end
`;

// The lists of blocking keys as stored, '' for a key with no records or more than ARGV[1]: a key
// shared by hundreds of records (a big postcode, a common name) says little and would make every
// registration compare against all of them. A list of n ids is at least 2n - 1 bytes long, so one
// of at most 2 * max bytes needs no counting (nearly all: the lists of a 100k load average 80
// bytes). The lists are read with one HMGET per thousand keys (a chunk asks for ~4,000: one HGET
// each was most of the script's time). The keys come packed (packed-fields.ts): one argument
// rather than ~4,000, and the lists go back packed the same way (one reply rather than ~4,000: each a bulk reply
// Redis builds and the client decodes into a string of its own, while the index lock is held). A list not moved from
// the pre-session-23 hash yet is read from there.
// KEYS[1] blocks hash, KEYS[2] legacy blocks hash; ARGV[1] max block size, ARGV[2] the number of
// blocking keys, ARGV[3] the keys, packed. Returns the lists in the keys' order, packed.
const BLOCKS_LUA = new LuaScript(`${UNPACK_LUA}${LEGACY_IDS_LUA}
local max = tonumber(ARGV[1])
local keys = packed(ARGV[3], tonumber(ARGV[2]))
local legacy = redis.call('EXISTS', KEYS[2]) == 1
local out = {}
for i = 1, #keys, 1000 do
  local last = math.min(i + 999, #keys)
  local lists = redis.call('HMGET', KEYS[1], unpack(keys, i, last))
  local old = legacy and redis.call('HMGET', KEYS[2], unpack(keys, i, last))
  for k = 1, #lists do
    local v = lists[k]
    if not v and old and old[k] then v = legacyIds(old[k]) end
    if v and (#v <= 2 * max or select(2, string.gsub(v, ',', ',')) < max) then out[#out + 1] = v else out[#out + 1] = '' end
  end
end
return table.concat(out, '\\31')
`);

// Moves blocking lists from the pre-session-23 hash (`<count>:<ids>`) to the blocks hash (`<ids>`),
// each in one step with its removal, so a list is in one of them at any time whoever moves it
// (this, or a records script touching it). KEYS: blocks hash, legacy blocks hash. ARGV: fields.
// Returns how many were moved.
const MIGRATE_BLOCKS_LUA = new LuaScript(`${LEGACY_IDS_LUA}
local old = redis.call('HMGET', KEYS[2], unpack(ARGV))
local now = redis.call('HMGET', KEYS[1], unpack(ARGV))
local sets, moved = {}, {}
for k = 1, #ARGV do
  if old[k] then
    local ids = legacyIds(old[k])
    -- Both only if a process of an older version wrote meanwhile: its ids are added after the list's own.
    if now[k] then
      local present = {}
      for id in string.gmatch(now[k], '[^,]+') do present[id] = true end
      local add = {}
      for id in string.gmatch(ids, '[^,]+') do if not present[id] then present[id] = true; add[#add + 1] = id end end
      ids = #add > 0 and now[k] .. ',' .. table.concat(add, ',') or now[k]
    end
    sets[#sets + 1] = ARGV[k]
    sets[#sets + 1] = ids
    moved[#moved + 1] = ARGV[k]
  end
end
if #moved == 0 then return 0 end
redis.call('HSET', KEYS[1], unpack(sets))
redis.call('HDEL', KEYS[2], unpack(moved))
return #moved
`);

// The links of records, and the CHIs held by the records of their Persons (registration's check that linking a
// record with a CHI does not give a Person a second one, engine.ts \`chisOf\`) — in one script, so a registration
// chunk reads its candidates' links and their Persons' CHIs in one round trip (until session 24 the CHIs were a
// round trip of their own after the links, under the index lock). Only Persons with more records than the caller
// holds are read: the records asked about that are linked to the Person, plus those the caller holds besides (ARGV,
// per Person) — the caller checks the CHIs of those it holds itself. A CHI is read out of the features JSON as it is
// stored (\`"chi":"…"\`, and \`"cn":true\` for an invalid one) rather than decoded: a quote inside a value is escaped,
// so only the key matches. Read-only. A Person's member hash is named from its id (ARGV[1], keys.ts \`person\`): it
// is in the \`{mpi}\` slot like the two hashes named in KEYS.
// KEYS: links hash, features hash; ARGV: the member hash key of a Person without its id, the number of records asked
// about and their ids (packed), the number of Persons the caller holds records of besides, and per Person (packed)
// its id and how many of its records the caller holds besides.
// Returns { the records' link values in order ('' when unlinked), packed (one reply rather than ~4,000, as BLOCKS_LUA's), and flat, per record with a CHI of each Person
// read: the Person id, the record id, its CHI, 1 if it is not a valid one (else 0) }.
const LINKS_AND_PERSON_CHIS_LUA = new LuaScript(`${UNPACK_LUA}
local ids = packed(ARGV[3], tonumber(ARGV[2]))
local links = {}
for i = 1, #ids, 1000 do
  local r = redis.call('HMGET', KEYS[1], unpack(ids, i, math.min(i + 999, #ids)))
  for k = 1, #r do links[#links + 1] = r[k] or '' end
end
local held, persons = {}, {}
local P = packed(ARGV[5], tonumber(ARGV[4]) * 2)
for k = 1, #P, 2 do
  if not held[P[k]] then held[P[k]] = 0; persons[#persons + 1] = P[k] end
  held[P[k]] = held[P[k]] + tonumber(P[k + 1])
end
for k = 1, #links do
  local l = links[k]
  if l ~= '' then
    local p = string.sub(l, 1, string.find(l, '|', 1, true) - 1)
    if not held[p] then held[p] = 0; persons[#persons + 1] = p end
    held[p] = held[p] + 1
  end
end
local out = {}
for _, p in ipairs(persons) do
  local key = ARGV[1] .. p
  if redis.call('HLEN', key) > held[p] then
    local members = redis.call('HKEYS', key)
    for i = 1, #members, 1000 do
      local last = math.min(i + 999, #members)
      local features = redis.call('HMGET', KEYS[2], unpack(members, i, last))
      for n = 1, #features do
        local f = features[n]
        local chi = f and string.match(f, '"chi":"([^"]*)"')
        if chi then
          out[#out + 1] = p
          out[#out + 1] = members[i + n - 1]
          out[#out + 1] = chi
          out[#out + 1] = string.find(f, '"cn":true', 1, true) and 1 or 0
        end
      end
    end
  end
end
return { table.concat(links, '\\31'), out }
`);

// Records, features, history, blocking and search-index entries of a chunk, and the first links
// of its new records, in one atomic script (one command for the whole chunk: hundreds of
// per-record commands cost the Node process more than Redis spends running them).
// KEYS: records hash, features hash, blocks hash, journal hash, search hash, legacy blocks hash, links hash, then
//       history hashes of updated records
// ARGV (15): journal entry id ('' for none) and JSON;
//       n records, and packed (see \`packed\`) per record: id, Patient JSON, features JSON,
//       history KEYS index (0 for none), previous versionId, previous JSON;
//       the number of blocking keys touched, and packed per blocking key: key, ids to add
//       (comma-joined, may be ''), ids to remove (likewise);
//       the number of search terms touched (domain/search-terms.ts), and packed per term: the term
//       (\`<code>:<value>\`), its bucket (\`<code>:<bucket>\`), ids to add (each preceded by a comma, may
//       be ''), ids to remove (comma-joined, may be '');
//       the number of first links, and packed per link: record id, link value, member value;
//       the number of relabels (records outside the chunk its records joined), and packed per relabel:
//       record id, expected link value, new link value, member value (\`relabel\`: each applied
//       only if the link is still the one read — so a recovery applying them again changes nothing);
//       the key prefixes of a term's list, a bucket and a Person's member hash (keys.ts \`searchTerm('')\`,
//       \`searchBucket('')\`, \`person('')\`).
// A chunk's ~20,000 values go as packed arguments rather than one argument each: the
// client's work per argument (encoding, and the garbage of each) was most of the Node side of
// the call, made while the index lock is held. For the same reason the keys a chunk touches one
// per term, bucket and Person (~2,000: nearly one term per record is a new key) are not declared
// in KEYS but named in the script from their prefix and the packed values: all are \`{mpi}\` keys,
// in the slot of the hashes KEYS declares (see the README's *Redis, durability and deployment*).
// The relabels ride in this script rather than in one of their own after it: a round trip fewer
// while the index lock is held.
// Returns the (1-based) positions of the first links not written because the record was
// linked already (someone linked it first, or this call is applied again).
const WRITE_RECORDS_LUA = new LuaScript(`${UNPACK_LUA}${RELABEL_FUNCTION_LUA}${LEGACY_IDS_LUA}
-- The comma-separated ids \`list\` (or false when absent) with \`removes\` taken out and
-- \`adds\` put in (each once, in list order, new ones last): a list rewritten whole.
local function mergedIds(list, adds, removes)
  local ids, present = {}, {}
  if list then
    for id in string.gmatch(list, '[^,]+') do
      if not present[id] then present[id] = true; ids[#ids + 1] = id end
    end
  end
  local gone = {}
  for id in string.gmatch(removes, '[^,]+') do gone[id] = true end
  local kept = {}
  for _, id in ipairs(ids) do if not gone[id] then kept[#kept + 1] = id end end
  for id in string.gmatch(adds, '[^,]+') do
    if not present[id] or gone[id] then present[id] = true; gone[id] = nil; kept[#kept + 1] = id end
  end
  return kept
end

-- Runs \`command\` on \`key\` with \`args\` a batch at a time (unpack takes a few thousand values at
-- most), appending the replies to \`reply\` when given. One call for many fields instead of one
-- per field: a call's own overhead, not its work, was most of a chunk's Redis time.
local BATCH = 1000
local function batched(command, key, args, reply)
  for i = 1, #args, BATCH do
    local r = redis.call(command, key, unpack(args, i, math.min(i + BATCH - 1, #args)))
    if reply then for k = 1, #r do reply[#reply + 1] = r[k] end end
  end
end

-- Adds and removes ids in one blocking list (an update: rare), rewriting it; a list still in the
-- legacy hash (\`legacy\`: it exists) moves from there.
local function merge(field, adds, removes, legacy)
  local v = redis.call('HGET', KEYS[3], field)
  if not v and legacy then
    local old = redis.call('HGET', KEYS[6], field)
    if old then
      v = legacyIds(old)
      redis.call('HDEL', KEYS[6], field)
    end
  end
  local kept = mergedIds(v, adds, removes)
  if #kept == 0 then
    if v then redis.call('HDEL', KEYS[3], field) end
  else
    redis.call('HSET', KEYS[3], field, table.concat(kept, ','))
  end
end

-- A term's list lives in its own string key, \`,<id>,<id>…\` (each id preceded by a comma), so a
-- chunk's new ids are appended in place with one APPEND, whose answer (the new length) also
-- tells whether the list was just created. No count is kept: rewriting one in place cost three
-- more commands per term, and the search reads the whole list anyway.
-- Appends ids the list does not hold (records new to the term; a replayed write is recognised
-- by its record instead). Returns whether the list existed before and exists after.
local function appendIds(key, adds)
  return redis.call('APPEND', key, adds) ~= #adds, true
end

-- Adds and removes ids in a term's list key (updates: rare), rewriting it; as appendIds returns.
local function rewriteIds(key, adds, removes)
  local v = redis.call('GET', key)
  local kept = mergedIds(v, adds, removes)
  if #kept == 0 then
    if v then redis.call('DEL', key) end
    return v ~= false, false
  end
  redis.call('SET', key, ',' .. table.concat(kept, ','))
  return v ~= false, true
end

-- A bucket's values live in its own string key, \`␟value␟value…\`: a value entering it is
-- appended in place (a bucket holds every value of one code in use starting with the same two
-- characters, a birth date's decade: rewriting it whole for every chunk cost more the bigger
-- the index). Taking values out (rare) rewrites it. Returns whether the bucket existed before
-- and exists after.
local function updateBucket(key, adds, removes)
  if #removes == 0 then
    local added = '\\31' .. table.concat(adds, '\\31')
    return redis.call('APPEND', key, added) ~= #added, true
  end
  local v = redis.call('GET', key)
  local set = (v or '') .. '\\31'
  for _, m in ipairs(removes) do
    local needle = '\\31' .. m .. '\\31'
    local at = string.find(set, needle, 1, true)
    if at then set = string.sub(set, 1, at) .. string.sub(set, at + #needle) end
  end
  -- A value is added only when its term's list was just created, so it is not here yet.
  if #adds > 0 then set = set .. table.concat(adds, '\\31') .. '\\31' end
  set = string.sub(set, 1, -2)
  if set == '' then
    if v then redis.call('DEL', key) end
    return v ~= false, false
  end
  if set ~= v then redis.call('SET', key, set) end
  return v ~= false, true
end

-- Adds members to (and takes members out of) a \`␟a␟b␟\` set field (a root: the buckets of a
-- code in use), one read and one write for a whole chunk's changes (an added member is not
-- searched for: it cannot be there yet); returns whether the field existed before and exists after.
local function updateSet(hash, field, adds, removes)
  local v = redis.call('HGET', hash, field)
  local set = v or '\\31'
  for _, m in ipairs(removes) do
    local needle = '\\31' .. m .. '\\31'
    local at = string.find(set, needle, 1, true)
    if at then set = string.sub(set, 1, at) .. string.sub(set, at + #needle) end
  end
  -- A member is added only when its bucket was just created, so it is not here yet.
  if #adds > 0 then set = set .. table.concat(adds, '\\31') .. '\\31' end
  if set == '\\31' then
    if v then redis.call('HDEL', hash, field) end
    return v ~= false, false
  end
  if set ~= v then redis.call('HSET', hash, field, set) end
  return v ~= false, true
end

-- Collects a set change for one field or bucket (applied once per field or bucket).
local function collect(changes, order, field, member, wanted)
  local c = changes[field]
  if not c then
    c = { adds = {}, removes = {} }
    changes[field] = c
    order[#order + 1] = field
  end
  if wanted then c.adds[#c.adds + 1] = member else c.removes[#c.removes + 1] = member end
end

if ARGV[1] ~= '' then redis.call('HSET', KEYS[4], ARGV[1], ARGV[2]) end
-- A record already stored exactly as this call would store it means this chunk was applied
-- before (a replay): its search-index changes are in already.
local replayed, anyReplayed = {}, false
local n = tonumber(ARGV[3])
local R = packed(ARGV[4], n * 6)
local ids, stored = {}, {}
for k = 1, n do ids[k] = R[1 + (k - 1) * 6] end
if n > 0 then batched('HMGET', KEYS[1], ids, stored) end
local records, features = {}, {}
for k = 1, n do
  local a = 1 + (k - 1) * 6
  local id = R[a]
  if stored[k] == R[a + 1] then replayed[id] = true; anyReplayed = true end
  records[#records + 1] = id
  records[#records + 1] = R[a + 1]
  features[#features + 1] = id
  features[#features + 1] = R[a + 2]
  local h = tonumber(R[a + 3])
  if h > 0 then redis.call('HSET', KEYS[h], R[a + 4], R[a + 5]) end
end
if n > 0 then
  batched('HSET', KEYS[1], records)
  batched('HSET', KEYS[2], features)
end
-- The ids of \`ids\` (comma-joined, or each preceded by a comma when \`leading\`) whose records
-- this call did not find stored already: a replayed call's ids are in their lists.
local function notReplayed(ids, leading)
  if not anyReplayed or ids == '' then return ids end
  local kept = {}
  for id in string.gmatch(ids, '[^,]+') do if not replayed[id] then kept[#kept + 1] = id end end
  if #kept == 0 then return '' end
  return (leading and ',' or '') .. table.concat(kept, ',')
end
-- Blocking keys that only gain records (new records: nearly all of a load) are read together and
-- written together, each list with the new ids at its end. The ids are not
-- searched for in the list (that search grew with the block): a record new to a key is not
-- listed under it (its stored features name the keys it is listed under), and a call applied
-- twice is recognised by its records being stored already (\`replayed\`). Others are merged.
local blocking = tonumber(ARGV[5])
-- The lists not moved from the pre-session-23 hash yet move as they are touched.
local legacy = blocking > 0 and redis.call('EXISTS', KEYS[6]) == 1
-- Read from the packed argument in place (as \`packed\` splits it) rather than split into a table first, and a key's
-- empty \`removes\` (nearly all of a load) not made a string: 3.7 % fewer Redis instructions for a 20k first load's writes.
local BA, from = ARGV[6], 1
local gaining, gained = {}, {}
for b = 1, blocking do
  local s1 = string.find(BA, '\\31', from, true)
  local s2 = string.find(BA, '\\31', s1 + 1, true)
  local s3 = b < blocking and string.find(BA, '\\31', s2 + 1, true) or #BA + 1
  local field, adds = string.sub(BA, from, s1 - 1), notReplayed(string.sub(BA, s1 + 1, s2 - 1), false)
  local removes = s3 > s2 + 1 and string.sub(BA, s2 + 1, s3 - 1) or ''
  from = s3 + 1
  if removes ~= '' then
    merge(field, adds, removes, legacy)
  elseif adds ~= '' then
    gaining[#gaining + 1] = field
    gained[#gained + 1] = adds
  end
end
if #gaining > 0 then
  local lists, sets = {}, {}
  batched('HMGET', KEYS[3], gaining, lists)
  if legacy then
    local old, moved = {}, {}
    batched('HMGET', KEYS[6], gaining, old)
    for k, field in ipairs(gaining) do
      if not lists[k] and old[k] then
        lists[k] = legacyIds(old[k])
        moved[#moved + 1] = field
      end
    end
    if #moved > 0 then batched('HDEL', KEYS[6], moved) end
  end
  -- No count to rebuild (it was: ~4,500 lists per chunk of a load), one concatenation per list.
  for k, field in ipairs(gaining) do
    local v = lists[k]
    sets[#sets + 1] = field
    sets[#sets + 1] = v and v .. ',' .. gained[k] or gained[k]
  end
  batched('HSET', KEYS[3], sets)
end
-- A term enters its bucket with its first record and leaves with its last; a bucket enters
-- its root with its first term and leaves with its last.
local terms, termPrefix, bucketPrefix = tonumber(ARGV[7]), ARGV[13], ARGV[14]
-- Read in place like the blocking keys above (a term's \`removes\` is empty for nearly all of a load): 2.4 % fewer
-- Redis instructions for a 20k first load's writes. Written out in both places rather than as one Lua function
-- returning a triple: called per key and per term, that function cost 3.7 % more instructions (callgrind, 20k).
local TA, from = ARGV[8], 1
local buckets, bucketOrder = {}, {}
for i = 0, terms - 1 do
  local s1 = string.find(TA, '\\31', from, true)
  local s2 = string.find(TA, '\\31', s1 + 1, true)
  local s3 = string.find(TA, '\\31', s2 + 1, true)
  local s4 = i < terms - 1 and string.find(TA, '\\31', s3 + 1, true) or #TA + 1
  local term, bucket, adds = string.sub(TA, from, s1 - 1), string.sub(TA, s1 + 1, s2 - 1), notReplayed(string.sub(TA, s2 + 1, s3 - 1), true)
  local removes = s4 > s3 + 1 and notReplayed(string.sub(TA, s3 + 1, s4 - 1), false) or ''
  local termKey = termPrefix .. term
  from = s4 + 1
  local before, after = true, true
  if removes ~= '' then
    before, after = rewriteIds(termKey, adds, removes)
  elseif adds ~= '' then
    before, after = appendIds(termKey, adds)
  end
  -- The term's value (after \`<code>:\`) enters or leaves its bucket.
  if before ~= after then collect(buckets, bucketOrder, bucket, string.sub(term, 3), after) end
end
local roots, rootOrder = {}, {}
for _, bucket in ipairs(bucketOrder) do
  local c = buckets[bucket]
  local before, after = updateBucket(bucketPrefix .. bucket, c.adds, c.removes)
  if before ~= after then
    -- The bucket is \`<code>:<bucket>\`; its root is the search hash's field \`~<code>\`.
    collect(roots, rootOrder, '~' .. string.sub(bucket, 1, 1), string.sub(bucket, 3), after)
  end
end
for _, field in ipairs(rootOrder) do
  local c = roots[field]
  updateSet(KEYS[5], field, c.adds, c.removes)
end
-- First links of new records, each only if the record has no link yet: two writers linking the
-- same new record at once must not leave it in two Persons. The links are read with HMGET and
-- written with HSET (a call's own overhead was most of the time); each Person's members with one HSET.
local linkCount, personPrefix = tonumber(ARGV[9]), ARGV[15]
local L = packed(ARGV[10], linkCount * 3)
local taken = {}
if linkCount > 0 then
  local linkIds, current = {}, {}
  for k = 1, linkCount do linkIds[k] = L[1 + (k - 1) * 3] end
  batched('HMGET', KEYS[7], linkIds, current)
  local links, members, order = {}, {}, {}
  for k = 1, linkCount do
    local b = 1 + (k - 1) * 3
    if current[k] then
      taken[#taken + 1] = k
    else
      links[#links + 1] = L[b]
      links[#links + 1] = L[b + 1]
      local key = personKey(personPrefix, L[b + 1])
      local m = members[key]
      if not m then m = {}; members[key] = m; order[#order + 1] = key end
      m[#m + 1] = L[b]
      m[#m + 1] = L[b + 2]
    end
  end
  for _, key in ipairs(order) do redis.call('HSET', key, unpack(members[key])) end
  if #links > 0 then batched('HSET', KEYS[7], links) end
end
local relabels = tonumber(ARGV[11])
if relabels > 0 then relabel(KEYS[7], personPrefix, packed(ARGV[12], relabels * 4)) end
return taken
`);

// Finishes a registration chunk once: only while its journal entry exists. Its open-review markers
// are set in the same script (their Tasks exist by then): one round trip fewer under the index lock.
// KEYS: journal hash, stats hash, outbox stream, open-review hash.
// ARGV: chunk id, number of counters, counter name/increment pairs, number of marker fields, marker
//       field/value pairs, then the change record's field/values.
const FINISH_CHUNK_LUA = new LuaScript(`
if redis.call('HDEL', KEYS[1], ARGV[1]) == 0 then return 0 end
local n = tonumber(ARGV[2])
for i = 0, n - 1 do
  redis.call('HINCRBY', KEYS[2], ARGV[3 + 2 * i], ARGV[4 + 2 * i])
end
local at = 3 + 2 * n
local markers = tonumber(ARGV[at])
if markers > 0 then redis.call('HSET', KEYS[4], unpack(ARGV, at + 1, at + 2 * markers)) end
local first = at + 1 + 2 * markers
if first <= #ARGV then redis.call('XADD', KEYS[3], '*', unpack(ARGV, first, #ARGV)) end
return 1
`);

export class MpiStore {
  private readonly indexLock: IndexLock;

  constructor(
    private readonly redis: Redis,
    private readonly keys: MpiKeys,
  ) {
    this.indexLock = new IndexLock(redis, { lock: keys.writeLock, queue: keys.writeLockQueue, seen: keys.writeLockSeen });
  }

  /**
   * Runs `fn` holding the index write lock. Registration reads candidates,
   * decides and writes under it, so two loads running at once (two agencies'
   * Bundles, or two MPI processes) each see the other's records: without it,
   * records of one person in concurrent Bundles would each start a Person.
   * Reads ($match, PIX, Person) never take it. Waiting is first come, first
   * served, within a process and between processes (index-lock.ts).
   */
  async withIndexLock<T>(fn: () => Promise<T>, options: IndexLockOptions = {}): Promise<T> {
    return this.indexLock.run(fn, options);
  }

  async getRecords(ids: readonly string[]): Promise<(Patient | undefined)[]> {
    if (ids.length === 0) return [];
    const raw = await this.redis.hmget(this.keys.records, ...ids);
    return raw.map((r) => (r ? (parseKeepingSpellings(r) as Patient) : undefined));
  }

  async getRecord(id: string): Promise<Patient | undefined> {
    return (await this.getRecords([id]))[0];
  }

  async getRecordVersion(id: string, versionId: string): Promise<Patient | undefined> {
    const current = await this.getRecord(id);
    if (current?.meta?.versionId === versionId) return current;
    const raw = await this.redis.hget(this.keys.recordHistory(id), versionId);
    return raw ? (parseKeepingSpellings(raw) as Patient) : undefined;
  }

  /** Every version of a record, newest first. */
  async getRecordHistory(id: string): Promise<Patient[]> {
    const [current, older] = await Promise.all([this.getRecord(id), this.redis.hvals(this.keys.recordHistory(id))]);
    if (!current) return [];
    const versions = older.map((r) => parseKeepingSpellings(r) as Patient);
    versions.sort((a, b) => Number(b.meta?.versionId) - Number(a.meta?.versionId));
    return [current, ...versions];
  }

  /** Every record's link. */
  async allLinks(): Promise<Map<string, PersonLink>> {
    return new Map(Object.entries(await this.redis.hgetall(this.keys.links)).map(([id, raw]) => [id, parseLink(raw)] as const));
  }

  /** Every reviewer decision, by `pairKey`. */
  async allDecisions(): Promise<Map<string, ManualDecision>> {
    return new Map(Object.entries(await this.redis.hgetall(this.keys.decisions)).map(([k, raw]) => [k, JSON.parse(raw) as ManualDecision] as const));
  }

  /** Every open review marker: `pairKey` → Task id. */
  async allOpenReviews(): Promise<Map<string, string>> {
    return new Map(Object.entries(await this.redis.hgetall(this.keys.openReviews)));
  }

  async getFeatures(ids: readonly string[]): Promise<(MatchFeatures | undefined)[]> {
    if (ids.length === 0) return [];
    const raw = await this.redis.hmget(this.keys.features, ...ids);
    return raw.map((r) => (r ? featuresFromJson(r) : undefined));
  }

  /** Candidate record ids for each record's blocking keys (one command for the batch). */
  async candidateIds(blockingKeysPerRecord: readonly (readonly string[])[], maxBlockSize: number): Promise<string[][]> {
    const distinct = [...new Set(blockingKeysPerRecord.flat())];
    if (distinct.length === 0) return blockingKeysPerRecord.map(() => []);
    const packed = (await BLOCKS_LUA.run(this.redis, [this.keys.blocks, this.keys.legacyBlocks], [maxBlockSize, distinct.length, packFields(distinct)])) as string;
    const lists = packed.split(FIELD_SEPARATOR);
    const idsOf = new Map(distinct.map((k, i) => [k, lists[i] ? lists[i].split(',') : []] as const));
    return blockingKeysPerRecord.map((keys) => {
      if (keys.length === 1) return [...idsOf.get(keys[0]!)!];
      const union = new Set<string>();
      for (const k of keys) for (const id of idsOf.get(k)!) union.add(id);
      return [...union];
    });
  }

  /**
   * The links of `recordIds` (as `getLinks`), and the CHIs the records of their Persons hold (one script, read-only):
   * Person id → every one of its records with a CHI, for each Person with more records than the caller holds — those of
   * `recordIds` linked to it, plus `heldBesides` (Person id → how many other records of it the caller holds). A Person
   * whose records the caller holds all is not in the answer.
   */
  async linksWithPersonChis(
    recordIds: readonly string[],
    heldBesides: ReadonlyMap<string, number>,
  ): Promise<{ links: (PersonLink | undefined)[]; chis: Map<string, PersonChi[]> }> {
    const chis = new Map<string, PersonChi[]>();
    if (recordIds.length === 0 && heldBesides.size === 0) return { links: [], chis };
    const besides = [...heldBesides].flatMap(([personId, n]) => [personId, String(n)]);
    const [packedLinks, flat] = (await LINKS_AND_PERSON_CHIS_LUA.run(
      this.redis,
      [this.keys.links, this.keys.features],
      [this.keys.person(''), recordIds.length, packFields(recordIds), heldBesides.size, packFields(besides)],
    )) as [string, (string | number)[]];
    const links = packedLinks.split(FIELD_SEPARATOR);
    for (let i = 0; i < flat.length; i += 4) {
      const personId = String(flat[i]);
      const held: PersonChi = { id: String(flat[i + 1]), chi: String(flat[i + 2]), ...(flat[i + 3] === 1 ? { cn: true as const } : {}) };
      const list = chis.get(personId);
      if (list) list.push(held);
      else chis.set(personId, [held]);
    }
    return { links: recordIds.map((_, i) => (links[i] ? parseLink(links[i]) : undefined)), chis };
  }

  /** Fields of the search index (term lists, buckets, roots: domain/search-terms.ts), in one round trip. */
  async getSearchFields(fields: readonly string[]): Promise<Map<string, string | null>> {
    if (fields.length === 0) return new Map();
    // Term lists and buckets have a key each (appended in place, see WRITE_RECORDS_LUA); roots are fields of the search hash.
    const lists = fields.filter((f) => !isSearchRoot(f));
    const roots = fields.filter(isSearchRoot);
    const keyOf = (f: string) => (isSearchBucket(f) ? this.keys.searchBucket(f.slice(1)) : this.keys.searchTerm(f));
    const [listValues, rootValues] = await Promise.all([
      lists.length ? this.redis.mget(...lists.map(keyOf)) : Promise.resolve([]),
      roots.length ? this.redis.hmget(this.keys.search, ...roots) : Promise.resolve([]),
    ]);
    const found = new Map<string, string | null>();
    lists.forEach((f, i) => found.set(f, listValues[i] ?? null));
    roots.forEach((f, i) => found.set(f, rootValues[i] ?? null));
    return new Map(fields.map((f) => [f, found.get(f) ?? null] as const));
  }

  /** Persons merged into `personId` (their `replaced-by` link names it). */
  async getMergedInto(personId: string): Promise<string[]> {
    const all = await this.redis.hgetall(this.keys.replacedBy);
    return Object.entries(all).flatMap(([source, survivor]) => (survivor === personId ? [source] : []));
  }

  /** The record ids under one blocking key, however many (plain reads: views use it over a read-only connection). */
  async blockMembers(blockingKey: string): Promise<string[]> {
    const [value, legacy] = await Promise.all([this.redis.hget(this.keys.blocks, blockingKey), this.redis.hget(this.keys.legacyBlocks, blockingKey)]);
    const ids = value ?? legacy?.slice(legacy.indexOf(':') + 1);
    return ids ? ids.split(',') : [];
  }

  /**
   * Moves the blocking index as written before session 23 (`<count>:<ids>` lists) to the
   * current hash, a thousand lists per script, while registrations and `$match` go on: a list
   * moves in one step (here, or with the first records script touching it) and reads look in
   * both hashes until the old one is empty. Returns how many lists it moved.
   */
  async migrateLegacyBlocks(batch = 1000): Promise<number> {
    let moved = 0;
    let cursor = '0';
    do {
      const [next, flat] = await this.redis.hscan(this.keys.legacyBlocks, cursor, 'COUNT', batch);
      const fields = flat.filter((_, i) => i % 2 === 0);
      if (fields.length) moved += (await MIGRATE_BLOCKS_LUA.run(this.redis, [this.keys.blocks, this.keys.legacyBlocks], fields)) as number;
      cursor = next;
    } while (cursor !== '0');
    return moved;
  }

  /** Current links of records (`undefined` for a record not yet indexed). */
  async getLinks(recordIds: readonly string[]): Promise<(PersonLink | undefined)[]> {
    if (recordIds.length === 0) return [];
    const raw = await this.redis.hmget(this.keys.links, ...recordIds);
    return raw.map((r) => (r ? parseLink(r) : undefined));
  }

  /** Members of a Person: record id → link. */
  async getMembers(personId: string): Promise<Map<string, PersonLink>> {
    const raw = await this.redis.hgetall(this.keys.person(personId));
    const members = new Map<string, PersonLink>();
    for (const [recordId, value] of Object.entries(raw)) {
      const [assurance, how] = value.split('|');
      members.set(recordId, { personId, assurance: assurance as Assurance, how: how as LinkHow });
    }
    return members;
  }

  async getReplacedBy(personId: string): Promise<string | undefined> {
    return (await this.redis.hget(this.keys.replacedBy, personId)) ?? undefined;
  }

  /**
   * Writes records, their features, blocking and search-index entries, atomically
   * (one script per call) — with `journal`, also the journal entry of the chunk they
   * belong to, so the rest of the chunk can be completed if this process dies before
   * it is (registration.ts); with `newLinks`, the first links of new records, each only
   * if the record has no link yet (as `writeNewLinks`). Re-applying the same writes
   * leaves the same state. Returns the links not written because the record was linked
   * already (the caller moves those).
   */
  async writeRecords(
    writes: readonly RecordWrite[],
    journal?: { readonly id: string; readonly json: string },
    newLinks: readonly LinkWrite[] = [],
    relabels: readonly LinkRelabel[] = [],
  ): Promise<LinkWrite[]> {
    if (writes.length === 0 && !journal && newLinks.length === 0 && relabels.length === 0) return [];
    const keys = [this.keys.records, this.keys.features, this.keys.blocks, this.keys.journal, this.keys.search, this.keys.legacyBlocks, this.keys.links];
    const records: string[] = [];
    // Per blocking key touched, the ids it gains and loses, comma-joined as sent (\`last\`: the id added last, so a key a
    // record names twice adds it once): a first-load chunk touches ~4,500 keys, nearly all for one record, so no arrays
    // or Sets per key or per record — built under the index lock.
    const changes = new Map<string, { adds: string; removes: string; last: string }>();
    const add = (key: string, id: string) => {
      const c = changes.get(key);
      if (!c) changes.set(key, { adds: id, removes: '', last: id });
      else if (c.last !== id) {
        c.adds = c.adds === '' ? id : `${c.adds},${id}`;
        c.last = id;
      }
    };
    const remove = (key: string, id: string) => {
      const c = changes.get(key);
      if (!c) changes.set(key, { adds: '', removes: id, last: '' });
      else c.removes = c.removes === '' ? id : `${c.removes},${id}`;
    };
    for (const w of writes) {
      const id = w.patient.id!;
      const previousVersion = w.previous?.meta?.versionId;
      let history = 0;
      if (previousVersion) history = keys.push(this.keys.recordHistory(id));
      // A Patient's decimals (an extension's 1.50) as written: shared/fhir/number-spelling.ts.
      records.push(id, w.patientJson ?? stringifyKeepingSpellings(w.patient), w.featuresJson ?? JSON.stringify(w.features), String(history), previousVersion ?? '', previousVersion ? stringifyKeepingSpellings(w.previous) : '');
      if (w.previousBlockingKeys.length === 0) {
        for (const k of w.blockingKeys) add(k, id);
        continue;
      }
      const keep = new Set(w.blockingKeys);
      const had = new Set(w.previousBlockingKeys);
      for (const k of had) if (!keep.has(k)) remove(k, id);
      for (const k of keep) if (!had.has(k)) add(k, id);
    }
    const blocking: string[] = [];
    for (const [key, c] of changes) blocking.push(key, c.adds, c.removes);
    const terms = termChanges(writes);
    const termArgs: string[] = [];
    for (const t of terms) termArgs.push(t.field, t.bucket, t.adds.map((id) => `,${id}`).join(''), t.removes.join(','));
    const links: string[] = [];
    for (const l of newLinks) links.push(l.recordId, formatLink(l), `${l.assurance}|${l.how}`);
    const args = [
      journal?.id ?? '',
      journal?.json ?? '',
      writes.length,
      // Per record: id, Patient JSON, features JSON, history index, previous versionId, previous JSON (JSON.stringify's: not searched).
      packFields(records, (i) => i % 6 === 1 || i % 6 === 2 || i % 6 === 5),
      changes.size,
      packFields(blocking),
      terms.length,
      packFields(termArgs),
      newLinks.length,
      packFields(links),
      relabels.length,
      packFields(relabels.flatMap(relabelFields)),
      this.keys.searchTerm(''),
      this.keys.searchBucket(''),
      this.keys.person(''),
    ];
    const taken = (await WRITE_RECORDS_LUA.run(this.redis, keys, args)) as number[];
    return taken.map((position) => newLinks[position - 1]!);
  }

  /**
   * Sets the first link of records not linked before (new records), atomically.
   * Returns the links not written because the record was linked meanwhile (a
   * concurrent registration of the same record): the caller moves those.
   */
  async writeNewLinks(links: readonly LinkWrite[]): Promise<LinkWrite[]> {
    return this.writeRecords([], undefined, links);
  }

  /**
   * Moves one record to a Person if its link is unchanged since `expected` was
   * read. Returns false when someone else changed it first (caller re-reads).
   * `changeRecord` (outbox fields) commits with the move: a reviewer's move is
   * never without its audit record.
   */
  async moveLink(link: LinkWrite, expected: PersonLink | undefined, changeRecord: readonly string[] = []): Promise<boolean> {
    const from = expected?.personId ?? link.personId;
    const result = await MOVE_LINK_LUA.run(
      this.redis,
      [this.keys.links, this.keys.person(link.personId), this.keys.person(from), this.keys.outbox],
      [link.recordId, expected ? formatLink(expected) : '', formatLink(link), `${link.assurance}|${link.how}`, ...changeRecord],
    );
    return result === 1;
  }

  /**
   * Relabels records in the Person they are in (`link.personId`: the assurance and how change, not
   * the Person), each only if its link is still `expected` — one script for them all. Returns how
   * many were relabelled (the others changed meanwhile and are left as they are).
   */
  async relabelLinks(relabels: readonly LinkRelabel[]): Promise<number> {
    if (relabels.length === 0) return 0;
    return (await RELABEL_LUA.run(this.redis, [this.keys.links], [this.keys.person(''), relabels.length, packFields(relabels.flatMap(relabelFields))])) as number;
  }

  async markReplaced(personId: string, survivorId: string): Promise<void> {
    await this.redis.hset(this.keys.replacedBy, personId, survivorId);
  }

  /** Manual decisions for many pairs at once (keyed by `pairKey`). */
  async getDecisions(pairs: readonly (readonly [string, string])[]): Promise<Map<string, ManualDecision>> {
    const found = new Map<string, ManualDecision>();
    if (pairs.length === 0) return found;
    const keys = pairs.map(([a, b]) => pairKey(a, b));
    const raw = await this.redis.hmget(this.keys.decisions, ...keys);
    raw.forEach((r, i) => {
      if (r) found.set(keys[i]!, JSON.parse(r) as ManualDecision);
    });
    return found;
  }

  async setDecisions(decisions: readonly { a: string; b: string; decision: ManualDecision }[]): Promise<void> {
    if (decisions.length === 0) return;
    const fields = decisions.flatMap((d) => [pairKey(d.a, d.b), JSON.stringify(d.decision)]);
    await this.redis.hset(this.keys.decisions, ...fields);
  }

  /** Open review Task ids for pairs (so the same pair is not queued twice). */
  async getOpenReviews(pairs: readonly (readonly [string, string])[]): Promise<Map<string, string>> {
    const found = new Map<string, string>();
    if (pairs.length === 0) return found;
    const keys = pairs.map(([a, b]) => pairKey(a, b));
    const raw = await this.redis.hmget(this.keys.openReviews, ...keys);
    raw.forEach((r, i) => {
      if (r) found.set(keys[i]!, r);
    });
    return found;
  }

  async closeReview(a: string, b: string): Promise<void> {
    await this.redis.hdel(this.keys.openReviews, pairKey(a, b));
  }

  /** Journal entries of chunks not yet finished (a process died part-way through them). */
  async unfinishedChunks(): Promise<string[]> {
    return this.redis.hvals(this.keys.journal);
  }

  /**
   * Finishes a chunk in one script (all `{mpi}`): its counters, its open-review markers
   * (`openReviews`: their Tasks are created already), its change record into the outbox,
   * and its journal entry removed — so counters are counted and the record written
   * exactly once, even when a recovery finishes the chunk. False when the chunk was
   * already finished (nothing is written again).
   */
  async finishChunk(
    journalId: string,
    counts: Readonly<Record<string, number>>,
    changeRecord: readonly string[],
    openReviews: readonly { a: string; b: string; taskId: string }[] = [],
  ): Promise<boolean> {
    const result = (await FINISH_CHUNK_LUA.run(
      this.redis,
      [this.keys.journal, this.keys.stats, this.keys.outbox, this.keys.openReviews],
      [journalId, Object.keys(counts).length, ...Object.entries(counts).flat(), openReviews.length, ...openReviews.flatMap((e) => [pairKey(e.a, e.b), e.taskId]), ...changeRecord],
    )) as number;
    return result === 1;
  }

  async incrementStats(counts: Readonly<Record<string, number>>): Promise<void> {
    const entries = Object.entries(counts).filter(([, n]) => n !== 0);
    if (entries.length === 0) return;
    const pipeline = this.redis.pipeline();
    for (const [field, n] of entries) pipeline.hincrby(this.keys.stats, field, n);
    await execOrThrow(pipeline);
  }

  async getStats(): Promise<Record<string, number>> {
    const raw = await this.redis.hgetall(this.keys.stats);
    return Object.fromEntries(Object.entries(raw).map(([k, v]) => [k, Number(v)]));
  }

  async countRecords(): Promise<number> {
    return this.redis.hlen(this.keys.records);
  }

  /**
   * The match features of every indexed record (for estimating the matching model), read
   * with HSCAN a few thousand at a time so Redis keeps answering registrations and `$match`
   * in between (HGETALL of 100,000 records would hold it for tens of milliseconds).
   */
  async allFeatures(batch = 5000): Promise<MatchFeatures[]> {
    const out: MatchFeatures[] = [];
    let cursor = '0';
    do {
      const [next, flat] = await this.redis.hscan(this.keys.features, cursor, 'COUNT', batch);
      for (let i = 1; i < flat.length; i += 2) out.push(featuresFromJson(flat[i]!));
      cursor = next;
    } while (cursor !== '0');
    return out;
  }

  /** Every reviewer decision about a pair of records (merge questions about Persons left out), keyed by `pairKey`. */
  async recordPairDecisions(): Promise<Map<string, ManualDecision>> {
    const raw = await this.redis.hgetall(this.keys.decisions);
    const out = new Map<string, ManualDecision>();
    for (const [pair, json] of Object.entries(raw)) {
      if (pair.split('|').some((id) => id.startsWith('per-'))) continue;
      out.set(pair, JSON.parse(json) as ManualDecision);
    }
    return out;
  }
}

/** A relabel's script arguments (`relabel` in RELABEL_FUNCTION_LUA): record id, expected link value, new link value, member value. */
function relabelFields(r: LinkRelabel): string[] {
  return [r.link.recordId, formatLink(r.expected), formatLink(r.link), `${r.link.assurance}|${r.link.how}`];
}

function formatLink(l: Pick<LinkWrite, 'personId' | 'assurance' | 'how'>): string {
  return `${l.personId}|${l.assurance}|${l.how}`;
}

function parseLink(raw: string): PersonLink {
  const [personId, assurance, how] = raw.split('|');
  return { personId: personId!, assurance: assurance as Assurance, how: how as LinkHow };
}

async function execOrThrow(batch: { exec(): Promise<[Error | null, unknown][] | null> }): Promise<void> {
  const results = await batch.exec();
  if (!results) throw new Error('Redis transaction aborted');
  for (const [err] of results) if (err) throw err;
}
