--[[
  One scheduler tick for one item: sweeps expired admissions, then moves the first N tokens of the waiting queue
  into the entry set (keeping their sequence numbers) and records the tick's batch with its expiry. Atomic, so a
  scheduler that dies mid-tick loses or doubles nothing.

  Several schedulers may run: node-cron elects one of them per tick through a Redis run coordinator, and the
  tick's scheduled time (epoch ms) is the fencing token here. An item is moved at most once per tick, and a late
  run of an older tick after a newer one is rejected, so whatever the election does, the item gets at most N per
  tick (Kleppmann, "How to do distributed locking", 2016: fencing tokens).

  Input:
    KEYS[1..4] item hash, waiting queue, entry set, entry batches (as register-4.lua)
    ARGV[1]    global N (tokens per tick), used when the item has no tokenCountToMove of its own
    ARGV[2]    entry TTL, milliseconds
    ARGV[3]    fencing token: the tick's scheduled time, epoch ms (must grow from tick to tick)
    ARGV[4]    tick interval, milliseconds (to publish the admission rate)

  Output: {status, moved, expired, waiting}
    status 'OK' | 'NO_ITEM' | 'STALE_FENCE' (this tick or a later one already moved the item)
    moved   tokens admitted now; expired  admissions swept now; waiting  tokens left in the queue
]]
-- @include now

local now = nowMs()
local item = redis.call('HMGET', KEYS[1], 'enabled', 'remainCount', 'tokenCountToMove', 'maxActiveUsers', 'fence')
if not item[1] then return {'NO_ITEM', 0, 0, 0} end
local fence = tonumber(ARGV[3])
if item[5] and tonumber(item[5]) >= fence then return {'STALE_FENCE', 0, 0, 0} end
redis.call('HSET', KEYS[1], 'fence', ARGV[3], 'lastMoveAt', now)

-- Sweep expired admissions: whole batches, oldest first (bounded work per tick; the rest goes next tick).
local expired = 0
for _ = 1, 100 do
  local b = redis.call('ZRANGE', KEYS[4], 0, 0, 'WITHSCORES')
  if #b == 0 or tonumber(string.match(b[1], ':(%d+)$')) > now then break end
  expired = expired + redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', b[2])
  redis.call('ZREM', KEYS[4], b[1])
end

local tickMs = tonumber(ARGV[4])
local n = tonumber(item[3] or ARGV[1]) or 0
if item[1] ~= '1' or (tonumber(item[2]) or 0) <= 0 then n = 0 end
local rate = n * 1000 / tickMs
if item[4] then
  local maxActive = tonumber(item[4])
  local room = maxActive - redis.call('ZCARD', KEYS[3])
  if room < n then n = math.max(room, 0) end
  -- Sustained capacity when every admitted user holds the slot for the whole TTL.
  local capped = maxActive * 1000 / tonumber(ARGV[2])
  if capped < rate then rate = capped end
end
redis.call('HSET', KEYS[1], 'admitRate', tostring(rate))

local moved = 0
if n > 0 then
  local maxSeq
  while moved < n do
    -- 3000 pairs stay under Lua's C stack limit (8000) for unpack.
    local batch = math.min(n - moved, 3000)
    local popped = redis.call('ZPOPMIN', KEYS[2], batch)
    local count = #popped / 2
    if count == 0 then break end
    -- {member, score, ...} -> {score, member, ...} for ZADD, in place.
    for i = 1, #popped, 2 do
      popped[i], popped[i + 1] = popped[i + 1], popped[i]
    end
    redis.call('ZADD', KEYS[3], unpack(popped))
    maxSeq = popped[#popped - 1]
    moved = moved + count
    if count < batch then break end
  end
  if maxSeq then
    redis.call('ZADD', KEYS[4], maxSeq, maxSeq .. ':' .. (now + tonumber(ARGV[2])))
  end
end
return {'OK', moved, expired, redis.call('ZCARD', KEYS[2])}
