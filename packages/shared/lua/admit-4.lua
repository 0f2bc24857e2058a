--[[
  One scheduler tick for one item: sweeps expired admissions, then moves the first N tokens of the waiting queue
  into the entry set. Atomic, so a scheduler that dies mid-tick loses or doubles nothing.

  Several schedulers may run: node-cron elects one of them per tick through a Redis run coordinator, and the
  tick's scheduled time (epoch ms) is the fencing token here. An item is moved at most once per tick, and a late
  run of an older tick after a newer one is rejected, so whatever the election does, the item gets at most N per
  tick (Kleppmann, "How to do distributed locking", 2016: fencing tokens).

  Input:
    KEYS[1..4] item hash, waiting queue, entry set, entry sequences (as register-4.lua)
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

-- Sweep expired admissions (bounded work per tick; the rest goes next tick).
local expired = 0
for _ = 1, 10 do
  local gone = redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', now, 'LIMIT', 0, 1000)
  if #gone == 0 then break end
  redis.call('ZREM', KEYS[3], unpack(gone))
  redis.call('HDEL', KEYS[4], unpack(gone))
  expired = expired + #gone
  if #gone < 1000 then break end
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
  local exp = now + tonumber(ARGV[2])
  while moved < n do
    local batch = math.min(n - moved, 1000)
    local popped = redis.call('ZPOPMIN', KEYS[2], batch)
    local count = #popped / 2
    if count == 0 then break end
    local zargs, hargs = {}, {}
    for i = 1, #popped, 2 do
      zargs[#zargs + 1] = exp
      zargs[#zargs + 1] = popped[i]
      hargs[#hargs + 1] = popped[i]
      hargs[#hargs + 1] = popped[i + 1]
    end
    redis.call('ZADD', KEYS[3], unpack(zargs))
    redis.call('HSET', KEYS[4], unpack(hargs))
    moved = moved + count
    if count < batch then break end
  end
end
return {'OK', moved, expired, redis.call('ZCARD', KEYS[2])}
