--[[
  Reserves stock for an admitted user, in one atomic step: checks the admission (compare on the place number the
  caller verified the token against, unexpired), the user's allowance (1 <= quantity <= maxPerUser minus what the
  user holds in PENDING and CONFIRMED reservations) and the stock; then decrements the stock, consumes the
  admission, and creates a PENDING reservation that expires after the TTL (lua/expire-reservations-6.lua).
  Stock can never go below 0: the check and the decrement are one script.

  Input:
    KEYS[1] item hash             wq:{itemId}:item (remainCount, maxPerUser, rsvSeq)
    KEYS[2] entry set             wq:{itemId}:entry
    KEYS[3] entry batches         wq:{itemId}:entry-batches
    KEYS[4] holdings              wq:{itemId}:holdings              (userId -> quantity held)
    KEYS[5] reservations          wq:{itemId}:reservations          (n -> record JSON, includes/reservation.lua)
    KEYS[6] pending reservations  wq:{itemId}:reservations-pending  (n by expiresAt)
    KEYS[7] outbox                wq:{itemId}:outbox
    ARGV[1] userId
    ARGV[2] place number (seq) the caller verified the token against
    ARGV[3] quantity (integer >= 1)
    ARGV[4] reservation TTL, milliseconds
    ARGV[5] itemId (for the reservation id and the events; never parsed out of a key)
    KEYS[8] idempotency records   wq:{itemId}:idempotency          (lua/includes/idempotency.lua)
    KEYS[9] idempotency expiries  wq:{itemId}:idempotency-expiry
    ARGV[6..9] Idempotency-Key ('' : none), request fingerprint, record TTL ms, most records per item

  Output:
    {'OK', record JSON, remainCount}
    {'NO_ITEM'} | {'NOT_ADMITTED'} (not admitted, expired, already consumed, or another place's token)
    {'LIMIT_EXCEEDED', maxPerUser, held} | {'INSUFFICIENT_STOCK', remainCount}
    (NOT_ADMITTED is checked first; a refused reservation changes nothing, the admission stays usable)

  Outbox: reservation.created {reservationId, userId, quantity, expiresAt, remainCount}; item.sold_out
  {remainCount, cause 'reservation'} when the stock reaches 0.
  With an Idempotency-Key: a retry gets the reply recorded for that key and changes nothing; the key recorded
  for another request: {'IDEMPOTENCY_KEY_REUSED'}.
]]
-- @include now
-- @include batch
-- @include reservation
-- @include idempotency

local function run()
  local now = nowMs()
  local itemId = ARGV[5]
  local userId = ARGV[1]
  local quantity = tonumber(ARGV[3])
  local item = redis.call('HMGET', KEYS[1], 'enabled', 'remainCount', 'maxPerUser')
  if not item[1] then return {'NO_ITEM'} end

  local seq = redis.call('ZSCORE', KEYS[2], userId)
  if not seq or seq ~= ARGV[2] or batchExpiry(KEYS[3], seq) <= now then return {'NOT_ADMITTED'} end

  local maxPerUser = tonumber(item[3] or '1')
  local held = tonumber(redis.call('HGET', KEYS[4], userId) or '0')
  if quantity > maxPerUser - held then return {'LIMIT_EXCEEDED', maxPerUser, held} end
  local remain = tonumber(item[2] or '0')
  if quantity > remain then return {'INSUFFICIENT_STOCK', remain} end

  local after = redis.call('HINCRBY', KEYS[1], 'remainCount', -quantity)
  redis.call('ZREM', KEYS[2], userId)
  redis.call('HINCRBY', KEYS[4], userId, quantity)
  local n = fmtRsv(redis.call('HINCRBY', KEYS[1], 'rsvSeq', 1))
  local r = {
    reservationId = itemId .. '.' .. n,
    itemId = itemId,
    userId = userId, quantity = quantity, status = RESERVATION_STATUS.PENDING,
    createdAt = now, expiresAt = now + tonumber(ARGV[4]), updatedAt = now,
  }
  local json = reservationJson(r)
  redis.call('HSET', KEYS[5], n, json)
  redis.call('ZADD', KEYS[6], r.expiresAt, n)
  emitEvent(itemId, KEYS[1], KEYS[7], 'reservation.created', now,
    {'reservationId', r.reservationId, 'userId', userId, 'quantity', quantity, 'expiresAt', r.expiresAt, 'remainCount', after})
  stockEvents(itemId, KEYS[1], KEYS[7], remain, after, now, 'reservation')
  return {'OK', json, after}
end

return idempotent(KEYS[8], KEYS[9], ARGV, 6, run)
