--[[
  Clears an item's stuck admission fence (admin API `POST /internal/admin/v1/waiting-item/{itemId}/fence/clear`).
  A fence is stuck when it lies more than one tick ahead of Redis time: admit-7.lua refuses every tick as
  STUCK_FENCE then. It is replaced by Redis now + one tick, which is at least every slot a tick may have used (a
  slot is never more than one tick ahead of Redis time), so no slot that already admitted can admit again. A fence
  that is not stuck is left as it is, so a retried or mistaken clear changes nothing.

  Input:
    KEYS[1] item hash  wq:{itemId}:item
    ARGV[1] tick interval, milliseconds

  Output: {status, previous fence (epoch ms, or -1 when none), Redis now (epoch ms)}
    status 'CLEARED' | 'NOT_STUCK' | 'NO_ITEM'
]]
-- @include now

local now = nowMs()
if redis.call('EXISTS', KEYS[1]) == 0 then return {'NO_ITEM', -1, now} end
local tickMs = tonumber(ARGV[1])
local stored = tonumber(redis.call('HGET', KEYS[1], 'fence') or '-1')
if stored <= now + tickMs then return {'NOT_STUCK', stored, now} end
redis.call('HSET', KEYS[1], 'fence', string.format('%d', now + tickMs))
return {'CLEARED', stored, now}
