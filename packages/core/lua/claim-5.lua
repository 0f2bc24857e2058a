--[[
  First-come issuance on a DIRECT item (the coupon system): issues one unit of the stock to a user, at most
  remainCount in total and at most one per user, atomically. A user refused (sold out, not open, ...) is NOT
  recorded as having claimed, so they can claim again once the stock comes back.

  Input:
    KEYS[1] item hash  wq:{itemId}:item (queueMode, enabled, remainCount, type, startAt, claimSeq)
    KEYS[2] claims     wq:{itemId}:claims (userId -> claimId)
    KEYS[3] outbox     wq:{itemId}:outbox
    ARGV[1] userId
    ARGV[2] itemId (for the claim id and the events; never parsed out of a key)
    KEYS[4] idempotency records   wq:{itemId}:idempotency          (lua/includes/idempotency.lua)
    KEYS[5] idempotency expiries  wq:{itemId}:idempotency-expiry
    ARGV[3..6] Idempotency-Key ('' : none), request fingerprint, record TTL ms, most records per item

  Output:
    {'OK', claimId, remainCount}             issued now; claimId '<itemId>.c<n>'
    {'ALREADY_CLAIMED', claimId}             this user holds one already (checked before the stock)
    {'NO_ITEM'} | {'NOT_DIRECT'} (queueMode is not DIRECT) | {'DISABLED'} | {'NOT_OPEN', opensAtMs, nowMs (Redis time)} | {'SOLD_OUT'}

  Outbox: claim.issued {claimId, userId, remainCount}; item.sold_out {remainCount, cause 'claim'} at 0.
  With an Idempotency-Key: a retry gets the reply recorded for that key and changes nothing; the key recorded
  for another request: {'IDEMPOTENCY_KEY_REUSED'}. Only an issued claim is recorded: a refusal changed nothing, so
  its retry asks again (a deal that opened since, a restock); and the public route's refusals, which anyone can
  send with fresh keys, cost no memory and never push an order service's record out of the item's cap.
]]
-- @include now
-- @include outbox
-- @include idempotency

local function run()
  local userId = ARGV[1]
  local itemId = ARGV[2]
  local now = nowMs()
  local item = redis.call('HMGET', KEYS[1], 'enabled', 'remainCount', 'queueMode', 'type', 'startAt')
  -- Refusals change nothing: not recorded under an Idempotency-Key (the second value; includes/idempotency.lua).
  if not item[1] then return {'NO_ITEM'}, true end
  if item[3] ~= 'DIRECT' then return {'NOT_DIRECT'}, true end
  if item[1] ~= '1' then return {'DISABLED'}, true end
  if item[4] == 'TIME_DEAL' and item[5] and tonumber(item[5]) > now then return {'NOT_OPEN', item[5], now}, true end
  local existing = redis.call('HGET', KEYS[2], userId)
  if existing then return {'ALREADY_CLAIMED', existing}, true end
  local remain = tonumber(item[2] or '0')
  if remain <= 0 then return {'SOLD_OUT'}, true end

  local after = redis.call('HINCRBY', KEYS[1], 'remainCount', -1)
  local claimId = itemId .. '.c' .. string.format('%d', redis.call('HINCRBY', KEYS[1], 'claimSeq', 1))
  redis.call('HSET', KEYS[2], userId, claimId)
  emitEvent(itemId, KEYS[1], KEYS[3], 'claim.issued', now, {'claimId', claimId, 'userId', userId, 'remainCount', after})
  stockEvents(itemId, KEYS[1], KEYS[3], remain, after, now, 'claim')
  return {'OK', claimId, after}
end

return idempotent(KEYS[4], KEYS[5], ARGV, 3, run)
