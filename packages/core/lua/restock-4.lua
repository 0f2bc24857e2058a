--[[
  Restocks an item: adds `quantity` to its stock. When the stock was 0, the waiting queue reopens (registration
  and admission resume).

  Input:
    KEYS[1] item hash  wq:{itemId}:item
    KEYS[2] outbox     wq:{itemId}:outbox
    ARGV[1] quantity (integer >= 1)
    ARGV[2] itemId (for the events; never parsed out of a key)
    KEYS[3] idempotency records   wq:{itemId}:idempotency          (lua/includes/idempotency.lua)
    KEYS[4] idempotency expiries  wq:{itemId}:idempotency-expiry
    ARGV[3..6] Idempotency-Key ('' : none), request fingerprint, record TTL ms, most records per item

  Output: {'OK', remainCount} | {'NO_ITEM'}

  Outbox: item.restocked {quantity, remainCount}; item.reopened {remainCount, cause 'restock'} when it was 0.
  With an Idempotency-Key: a retry gets the reply recorded for that key and changes nothing; the key recorded
  for another request: {'IDEMPOTENCY_KEY_REUSED'}.
]]
-- @include now
-- @include outbox
-- @include idempotency

local function run()
  if redis.call('EXISTS', KEYS[1]) == 0 then return {'NO_ITEM'} end
  local now = nowMs()
  local quantity = tonumber(ARGV[1])
  local after = redis.call('HINCRBY', KEYS[1], 'remainCount', quantity)
  emitEvent(ARGV[2], KEYS[1], KEYS[2], 'item.restocked', now, {'quantity', quantity, 'remainCount', after})
  stockEvents(ARGV[2], KEYS[1], KEYS[2], after - quantity, after, now, 'restock')
  return {'OK', after}
end

return idempotent(KEYS[3], KEYS[4], ARGV, 3, run)
