-- Reservations of an item (keys in keys.ts): wq:{itemId}:reservations HASH n -> record JSON,
-- wq:{itemId}:reservations-pending ZSET n by expiresAt (PENDING only), wq:{itemId}:reservations-done ZSET n by the
-- time it left PENDING (purged after the retention), wq:{itemId}:holdings HASH userId -> quantity held in PENDING +
-- CONFIRMED reservations. A reservation's id is '<itemId>.<n>', so that it names the item (and its hash slot).
-- Record: {reservationId, itemId, userId, quantity, status, createdAt, expiresAt, updatedAt}; status PENDING |
-- CONFIRMED | CANCELLED | EXPIRED; times epoch ms (Redis clock). A PENDING reservation is expired from expiresAt on.
-- @include outbox
-- @const RESERVATION_STATUS

local function reservationJson(r)
  return jsonObject({'reservationId', r.reservationId, 'itemId', r.itemId, 'userId', r.userId, 'quantity', r.quantity,
    'status', r.status, 'createdAt', r.createdAt, 'expiresAt', r.expiresAt, 'updatedAt', r.updatedAt})
end

-- loadReservation(reservationsKey, n): the record as a table, or nil.
local function loadReservation(reservationsKey, n)
  local raw = redis.call('HGET', reservationsKey, n)
  if not raw then return nil end
  return cjson.decode(raw)
end

-- settleReservation(k, n, r, status, now): moves PENDING reservation r (number n) to CONFIRMED, CANCELLED or EXPIRED,
-- and appends its event. CANCELLED and EXPIRED give the quantity back to the stock and to the user's allowance
-- (exactly once: only a PENDING reservation is settled, and settling removes it from the pending set).
-- k: {itemId, and the item, holdings, reservations, pending, done, outbox keys}.
local function settleReservation(k, n, r, status, now)
  r.status = status
  r.updatedAt = now
  redis.call('HSET', k.reservations, n, reservationJson(r))
  redis.call('ZREM', k.pending, n)
  redis.call('ZADD', k.done, now, n)
  if status == RESERVATION_STATUS.CONFIRMED then
    emitEvent(k.itemId, k.item, k.outbox, 'reservation.confirmed', now,
      {'reservationId', r.reservationId, 'userId', r.userId, 'quantity', r.quantity})
    return
  end
  local after = redis.call('HINCRBY', k.item, 'remainCount', r.quantity)
  if redis.call('HINCRBY', k.holdings, r.userId, -r.quantity) <= 0 then redis.call('HDEL', k.holdings, r.userId) end
  emitEvent(k.itemId, k.item, k.outbox, status == RESERVATION_STATUS.CANCELLED and 'reservation.cancelled' or 'reservation.expired', now,
    {'reservationId', r.reservationId, 'userId', r.userId, 'quantity', r.quantity, 'remainCount', after})
  stockEvents(k.itemId, k.item, k.outbox, after - r.quantity, after, now, status == RESERVATION_STATUS.CANCELLED and 'cancel' or 'expiry')
end

-- fmtRsv(n): a reservation number as its decimal string.
local function fmtRsv(n)
  return string.format('%d', n)
end
