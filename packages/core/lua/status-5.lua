--[[
  Reads where a user stands in an item's queue (the poll and the order-service validation).

  Input:
    KEYS[1..5] item hash, waiting queue, entry set, entry batches, last polls (as register-5.lua)
    ARGV[1]    userId
    ARGV[2]    '1': this is the shopper's poll and abandonment is on: record it as the last poll of a waiting
               user; '' (validation, consume, or abandonment off): read only

  Output: {status, seq, rank, admitRate, expiresAtMs, remainCount, nowMs}
    status 'WAITING' | 'ADMITTED', or alone 'NO_ITEM' (unknown item) | 'NOT_FOUND' (no place: never registered,
           consumed, expired or abandoned)
    other fields as register-5.lua (nowMs: Redis time, epoch ms)
]]
-- @include now
-- @include place

local now = nowMs()
local item = redis.call('HMGET', KEYS[1], 'enabled', 'remainCount', 'admitRate')
if not item[1] then return {'NO_ITEM'} end
local status, seq, rank, exp = placeOf(KEYS[2], KEYS[3], KEYS[4], ARGV[1], now)
if not status then return {'NOT_FOUND'} end
if status == 'WAITING' and ARGV[2] == '1' then redis.call('ZADD', KEYS[5], now, ARGV[1]) end
return {status, seq, rank, item[3] or '0', exp, item[2] or '0', now}
