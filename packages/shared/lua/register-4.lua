--[[
  Registers a user in an item's waiting queue, or returns the place the user already holds (one place per user
  per item; idempotent under any concurrency because the script runs atomically).

  Order comes from the item's own sequence (HINCRBY), so FIFO holds across any number of api processes.

  Input:
    KEYS[1] item hash        wq:{itemId}:item
    KEYS[2] waiting queue    wq:{itemId}:waiting     (member userId, score seq)
    KEYS[3] entry set        wq:{itemId}:entry          (member userId, score seq)
    KEYS[4] entry batches    wq:{itemId}:entry-batches  (one record per admission tick, see includes/batch.lua)
    ARGV[1] userId

  Output: {status, seq, rank, admitRate, expiresAtMs, remainCount}
    status      'WAITING' | 'ADMITTED' (an existing or new place), or, with no other field,
                'NO_ITEM' | 'DISABLED' | 'SOLD_OUT' (registration refused)
    seq         the place's sequence number (string or integer)
    rank        1-based position among waiting users; 0 when admitted
    admitRate   admission capacity, tokens per second (string), as the scheduler last wrote it
    expiresAtMs admission expiry, epoch ms; 0 while waiting
    remainCount the item's stock
]]
-- @include now
-- @include place

local userId = ARGV[1]
local now = nowMs()
local item = redis.call('HMGET', KEYS[1], 'enabled', 'remainCount', 'admitRate')
local admitRate = item[3] or '0'

local status, seq, rank, exp = placeOf(KEYS[2], KEYS[3], KEYS[4], userId, now)
if status then
  return {status, seq, rank, admitRate, exp, item[2] or '0'}
end

if not item[1] then return {'NO_ITEM'} end
if item[1] ~= '1' then return {'DISABLED'} end
if (tonumber(item[2]) or 0) <= 0 then return {'SOLD_OUT'} end

seq = redis.call('HINCRBY', KEYS[1], 'seq', 1)
redis.call('ZADD', KEYS[2], seq, userId)
-- The new member has the highest score, so its rank is the queue's length.
rank = redis.call('ZCARD', KEYS[2])
return {'WAITING', seq, rank, admitRate, 0, item[2]}
