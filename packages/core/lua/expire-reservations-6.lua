--[[
  The scheduler's reservation sweep for one item: expires the PENDING reservations whose expiresAt has passed,
  giving their stock back (exactly once: only a reservation still PENDING is settled, in the same atomic step that
  removes it from the pending set, so two schedulers, or a confirm racing the sweep, cannot settle it twice), and
  purges settled reservations older than the retention.

  Input:
    KEYS[1..6] item hash, holdings, reservations, pending reservations, done reservations, outbox
               (as confirm-reservation-8.lua)
    ARGV[1]    at most this many reservations expired (and purged) per call
    ARGV[2]    retention of settled reservations, milliseconds
    ARGV[3]    itemId (for the events; never parsed out of a key)

  Output: {expired, purged}

  Outbox: per reservation, reservation.expired {reservationId, userId, quantity, remainCount}; item.reopened when
  the stock comes back from 0.
]]
-- @include now
-- @include reservation

local now = nowMs()
local limit = tonumber(ARGV[1])
local k = {itemId = ARGV[3], item = KEYS[1], holdings = KEYS[2], reservations = KEYS[3], pending = KEYS[4], done = KEYS[5], outbox = KEYS[6]}
local expired = 0
local due = redis.call('ZRANGEBYSCORE', KEYS[4], '-inf', now, 'LIMIT', 0, limit)
for _, n in ipairs(due) do
  local r = loadReservation(KEYS[3], n)
  if r and r.status == RESERVATION_STATUS.PENDING then
    settleReservation(k, n, r, RESERVATION_STATUS.EXPIRED, now)
    expired = expired + 1
  else
    redis.call('ZREM', KEYS[4], n)
  end
end

local purged = 0
local old = redis.call('ZRANGEBYSCORE', KEYS[5], '-inf', now - tonumber(ARGV[2]), 'LIMIT', 0, limit)
if #old > 0 then
  redis.call('HDEL', KEYS[3], unpack(old))
  purged = redis.call('ZREM', KEYS[5], unpack(old))
end
return {expired, purged}
