--[[
  Registers a user in an item's waiting queue, or returns the place the user already holds (one place per user
  per item; idempotent under any concurrency because the script runs atomically).

  Order comes from the item's own sequence (HINCRBY), so FIFO holds across any number of api processes. On an item
  with priority lanes, the place number also carries the user's lane (includes/lanes.lua): higher lanes first,
  FIFO within each.

  Input:
    KEYS[1] item hash        wq:{itemId}:item
    KEYS[2] waiting queue    wq:{itemId}:waiting     (member userId, score = place number)
    KEYS[3] entry set        wq:{itemId}:entry          (member userId, score = place number)
    KEYS[4] entry batches    wq:{itemId}:entry-batches  (one record per admission tick and lane, see includes/batch.lua)
    KEYS[5] last polls       wq:{itemId}:last-poll      (member userId, score = epoch ms; written only with ARGV[3])
    ARGV[1] userId
    ARGV[2] lane name (the trusted `user-tier` header); '' or unknown: the item's last lane
    ARGV[3] '1': record this as the user's last poll (abandonment on, ABANDON_AFTER_SECONDS > 0); '': do not

  Output: {status, seq, rank, admitRate, expiresAtMs, remainCount, nowMs}
    status      'WAITING' | 'ADMITTED' (an existing or new place), or, with no other field,
                'NO_ITEM' | 'DISABLED' | 'DIRECT' (queueMode DIRECT: no waiting room) | 'SOLD_OUT' |
                'QUEUE_FULL' (maxWaiting users wait already) (registration refused), or
                {'NOT_OPEN', opensAtMs, nowMs} (a TIME_DEAL before its startAt)
    seq         the place's number (string or integer; negative in a higher lane)
    rank        1-based position among waiting users; 0 when admitted
    admitRate   admission capacity, tokens per second (string), as the scheduler last wrote it
    expiresAtMs admission expiry, epoch ms; 0 while waiting
    remainCount the item's stock
    nowMs       Redis time, epoch ms (the api computes waits and Retry-After from it, never from its host clock)
]]
-- @include now
-- @include place
-- @include lanes

local userId = ARGV[1]
local now = nowMs()
local item = redis.call('HMGET', KEYS[1], 'enabled', 'remainCount', 'admitRate', 'queueMode', 'type', 'startAt', 'maxWaiting', 'lanes')
local admitRate = item[3] or '0'

local status, seq, rank, exp = placeOf(KEYS[2], KEYS[3], KEYS[4], userId, now)
if status then
  if status == 'WAITING' and ARGV[3] == '1' then redis.call('ZADD', KEYS[5], now, userId) end
  return {status, seq, rank, admitRate, exp, item[2] or '0', now}
end

if not item[1] then return {'NO_ITEM'} end
if item[1] ~= '1' then return {'DISABLED'} end
if item[4] == 'DIRECT' then return {'DIRECT'} end
if item[5] == 'TIME_DEAL' and item[6] and tonumber(item[6]) > now then return {'NOT_OPEN', item[6], now} end
if (tonumber(item[2]) or 0) <= 0 then return {'SOLD_OUT'} end
if item[7] and redis.call('ZCARD', KEYS[2]) >= tonumber(item[7]) then return {'QUEUE_FULL'} end

local lane = laneRank(item[8], ARGV[2])
seq = redis.call('HINCRBY', KEYS[1], 'seq', 1) - lane * LANE_SPAN
redis.call('ZADD', KEYS[2], fmtInt(seq), userId)
if ARGV[3] == '1' then redis.call('ZADD', KEYS[5], now, userId) end
if lane == 0 then
  -- The new member has the highest score, so its rank is the queue's length.
  rank = redis.call('ZCARD', KEYS[2])
else
  rank = redis.call('ZRANK', KEYS[2], userId) + 1
end
return {'WAITING', seq, rank, admitRate, 0, item[2], now}
