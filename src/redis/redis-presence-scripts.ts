/**
 * Presence on Redis, as Lua scripts so each step is atomic. Per topic, two keys: a hash
 * (client id → member JSON) and a sorted set (client id → expiry, ms on Redis's clock, so
 * the processes' clocks never matter). Each process refreshes its own members' expiry; a
 * member whose process stopped without leaving passes its expiry and is removed by whichever
 * process sweeps first. Removal returns the members removed, so exactly one process (the one
 * that removed it) publishes each `leave`, however many sweep at once.
 */

/** Redis's clock in ms, and the removal of the expired members of one topic (h, z). */
const SWEEP_FUNCTIONS = `
local function now_ms()
  local time = redis.call('TIME')
  return tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
end
local function sweep(h, z, now)
  local removed = {}
  while true do
    -- ZRANGEBYSCORE is indexed: only the expired are read, in slices Lua's unpack can take.
    local ids = redis.call('ZRANGEBYSCORE', z, '-inf', now, 'LIMIT', 0, 500)
    if #ids == 0 then return removed end
    local members = redis.call('HMGET', h, unpack(ids))
    redis.call('ZREM', z, unpack(ids))
    redis.call('HDEL', h, unpack(ids))
    for i = 1, #ids do
      if members[i] then removed[#removed + 1] = members[i] end
    end
  end
end
`;

/**
 * Adds a member. KEYS: hash, sorted set. ARGV: client id, member JSON, member TTL (ms), keys'
 * TTL (ms: the keys go by themselves once nobody refreshes them).
 */
export const JOIN_SCRIPT = `${SWEEP_FUNCTIONS}
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('ZADD', KEYS[2], now_ms() + tonumber(ARGV[3]), ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[4])
redis.call('PEXPIRE', KEYS[2], ARGV[4])
return 1
`;

/** Removes a member. KEYS: hash, sorted set. ARGV: client id. Returns its JSON, or nil. */
export const LEAVE_SCRIPT = `
local member = redis.call('HGET', KEYS[1], ARGV[1])
if not member then return false end
redis.call('HDEL', KEYS[1], ARGV[1])
redis.call('ZREM', KEYS[2], ARGV[1])
return member
`;

/**
 * Pushes back the expiry of one process's members of a topic. KEYS: hash, sorted set. ARGV:
 * member TTL, keys' TTL, then the client ids. Returns the ids that are no longer members
 * (swept while this process could not refresh them: it joins them again).
 */
export const REFRESH_SCRIPT = `${SWEEP_FUNCTIONS}
local expiry = now_ms() + tonumber(ARGV[1])
local missing = {}
for i = 3, #ARGV do
  if redis.call('ZSCORE', KEYS[2], ARGV[i]) then
    redis.call('ZADD', KEYS[2], expiry, ARGV[i])
  else
    missing[#missing + 1] = ARGV[i]
  end
end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
redis.call('PEXPIRE', KEYS[2], ARGV[2])
return missing
`;

/**
 * Removes the expired members of several topics at once. KEYS: hash, sorted set of each
 * topic in turn. Returns, per topic, the JSON of the members removed.
 */
export const SWEEP_SCRIPT = `${SWEEP_FUNCTIONS}
local now = now_ms()
local removed = {}
for i = 1, #KEYS, 2 do
  removed[#removed + 1] = sweep(KEYS[i], KEYS[i + 1], now)
end
return removed
`;

/**
 * The members of a topic, the expired removed first. KEYS: hash, sorted set. Returns
 * `{ removed, present }`: the JSON of the members removed, then of those left.
 */
export const MEMBERS_SCRIPT = `${SWEEP_FUNCTIONS}
local removed = sweep(KEYS[1], KEYS[2], now_ms())
return { removed, redis.call('HVALS', KEYS[1]) }
`;

/** The names under which the scripts are defined on the command connection. */
export const PRESENCE_COMMANDS = {
  join: "sluicePresenceJoin",
  leave: "sluicePresenceLeave",
  refresh: "sluicePresenceRefresh",
  sweep: "sluicePresenceSweep",
  members: "sluicePresenceMembers",
} as const;
